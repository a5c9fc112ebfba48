"""The summary: server and host, health at a glance (counts and sizes from the
snapshot, severities from the analyzer) and the top findings."""

from __future__ import annotations

from typing import Any

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    SEVERITIES,
    finding_order,
    severity_cell,
    text,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Cell,
    Column,
    KeyValues,
    Section,
    Table,
    Tile,
    Tiles,
)


def section(ctx: ReportContext) -> Section:
    server, host = ctx.snap.server, ctx.snap.host
    started = server.get("postmaster_start_time")
    uptime = fmt.age(started, ctx.now)[0].removesuffix(" ago") if started else ""
    server_items = [
        ("version", text(server.get("server_version"))),
        ("database", text(server.get("database"))),
        ("captured at", fmt.timestamp(ctx.snap.captured_at)),
        ("server started", f"{fmt.timestamp(started)} (up {uptime})" if started else ""),
        ("max_connections", text(ctx.setting("max_connections"))),
        ("shared_buffers", ctx.setting_text("shared_buffers")),
        ("snapshot took", fmt.millis(ctx.snap.elapsed_ms)),
    ]
    if ctx.since is not None:
        interval = (ctx.snap.captured - ctx.since.captured).total_seconds()
        server_items.insert(3, ("interval", fmt.seconds(interval)))
    blocks: list[Block] = [
        KeyValues("server", "Server", [(k, v) for k, v in server_items if v]),
        KeyValues("host", "Host", _host_items(ctx, host)),
        _health_tiles(ctx),
    ]
    top = sorted(ctx.findings, key=finding_order)[:5]
    blocks.append(
        Table(
            "top-findings",
            "Top findings",
            [Column("severity"), Column("finding"), Column("object")],
            [
                [
                    severity_cell(str(f.get("severity"))),
                    Cell(
                        text(f.get("title")),
                        sort=text(f.get("title")).lower(),
                        href=ctx.anchor(f),
                    ),
                    text_cell(f.get("object"), "code"),
                ]
                for f in top
            ],
            empty=ctx.findings_empty(),
        )
    )
    counts = ctx.severity_counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    return Section("summary", "Summary", summary, blocks)


def _disk_kind(rotational: Any) -> str:
    if rotational is None:
        return "unknown"
    return "rotational" if rotational else "solid state"


def _host_items(ctx: ReportContext, host: dict[str, Any]) -> list[tuple[str, str]]:
    if not host:
        return [("host", "not collected")]
    if not host.get("local", False):
        return [("host", "remote server: hardware unknown")]
    items = [
        ("os", text(host.get("os"))),
        ("CPUs", text(host.get("effective_cpus") or host.get("cpu_count"))),
        ("memory", fmt.size(host.get("effective_memory_bytes") or host.get("memory_bytes"))),
        ("cgroup", text(host.get("cgroup_version"))),
        ("data disk", text(host.get("data_disk"))),
        ("disk type", _disk_kind(host.get("data_disk_rotational"))),
        ("disk free", fmt.size(host.get("data_disk_free_bytes"))),
    ]
    return [(k, v) for k, v in items if v]


def _health_tiles(ctx: ReportContext) -> Tiles:
    counts = ctx.severity_counts()
    tiles = [
        Tile(f"{s} findings", str(counts[s]), level=s if counts[s] else "") for s in SEVERITIES
    ]
    tables = ctx.snap.rows("tables")
    if tables:
        total = sum(fmt.number(t.get("total_bytes")) or 0 for t in tables)
        dead = sum(fmt.number(t.get("n_dead_tup")) or 0 for t in tables)
        tiles.append(Tile("user tables", fmt.size(total), f"{len(tables)} tables"))
        tiles.append(Tile("dead tuples", fmt.count(dead)))
    database = ctx.current_database()
    if database:
        hit, read = fmt.number(database.get("blks_hit")), fmt.number(database.get("blks_read"))
        if hit is not None and read is not None and hit + read > 0:
            tiles.append(Tile("cache hit ratio", fmt.percent(hit / (hit + read), 2)))
        if database.get("temp_bytes") is not None:
            tiles.append(
                Tile(
                    "temp files written",
                    fmt.size(database.get("temp_bytes")),
                    f"{fmt.count(database.get('temp_files'))} files",
                )
            )
    activity = ctx.snap.rows("activity")
    if ctx.snap.has("activity"):
        limit = ctx.setting("max_connections")
        tiles.append(Tile("connections", f"{len(activity)}", f"of {limit}" if limit else ""))
        ages = [a for a in (ctx.xact_age(r) for r in activity) if a is not None]
        if ages:
            tiles.append(Tile("longest transaction", fmt.seconds(max(ages))))
    return Tiles("health", "Health at a glance", tiles)
