"""Locks and long transactions: sessions inside a transaction or running, the
blocking graph with its root blockers, lock counts and prepared transactions."""

from __future__ import annotations

from pgtune_hx.report import format as fmt
from pgtune_hx.report.cells import (
    findings_table,
    num_cell,
    sql_cell,
    text,
    text_cell,
)
from pgtune_hx.report.context import ReportContext
from pgtune_hx.report.model import (
    Block,
    Column,
    Notes,
    Section,
    Table,
)


def section(ctx: ReportContext) -> Section:
    blocks: list[Block] = []
    activity = ctx.snap.rows("activity")
    interesting = [
        r for r in activity if r.get("state") not in (None, "idle") or r.get("xact_start")
    ]
    interesting.sort(key=lambda r: (-(ctx.xact_age(r) or 0.0), fmt.number(r.get("pid")) or 0))
    columns = [
        Column("pid", True),
        Column("database"),
        Column("user"),
        Column("application"),
        Column("state"),
        Column("transaction age", True),
        Column("state age", True),
        Column("waiting on"),
        Column("query"),
    ]
    rows = []
    for r in interesting:
        xact = ctx.xact_age(r)
        state_age = fmt.number(r.get("state_age_s"))
        if state_age is None:
            state_age = fmt.age(r.get("state_change"), ctx.now)[1]
        wait = " / ".join(
            x for x in (text(r.get("wait_event_type")), text(r.get("wait_event"))) if x
        )
        rows.append(
            [
                num_cell(r.get("pid")),
                text_cell(r.get("datname")),
                text_cell(r.get("usename")),
                text_cell(r.get("application_name")),
                text_cell(r.get("state")),
                num_cell(xact, fmt.seconds),
                num_cell(state_age, fmt.seconds),
                text_cell(wait),
                sql_cell(r.get("query"), 120),
            ]
        )
    error = ctx.section_error("activity")
    if error:
        blocks.append(Notes("activity-missing", "Not collected", [error]))
    blocks.append(
        Table(
            "locks-sessions",
            "Sessions in a transaction or running",
            columns,
            rows,
            "No session was running or inside a transaction.",
        )
    )
    blocks.append(_blocking(ctx))
    blocks.append(_lock_summary(ctx))
    prepared = ctx.snap.rows("prepared_xacts")
    if prepared:
        blocks.append(
            Table(
                "locks-prepared",
                "Prepared transactions",
                [Column("gid"), Column("prepared"), Column("owner"), Column("database")],
                [
                    [
                        text_cell(p.get("gid")),
                        text_cell(fmt.age(p.get("prepared"), ctx.now)[0]),
                        text_cell(p.get("owner")),
                        text_cell(p.get("database")),
                    ]
                    for p in prepared
                ],
            )
        )
    flagged = ctx.findings_in("locks")
    if flagged:
        blocks.append(
            findings_table("locks-findings", "Flagged by the analyzer", flagged, anchor=ctx.anchor)
        )
    waiting = sum(1 for r in activity if r.get("wait_event_type") == "Lock")
    summary = f"{len(interesting)} active or in a transaction, {waiting} waiting on a lock"
    return Section("locks", "Locks and long transactions", summary, blocks)


def _blocking(ctx: ReportContext) -> Table:
    rows = sorted(ctx.snap.rows("blocking"), key=lambda r: fmt.number(r.get("pid")) or 0)
    columns = [
        Column("pid", True),
        Column("blocked by"),
        Column("root blocker"),
        Column("state"),
        Column("waiting", True),
        Column("query"),
    ]
    cells = []
    for r in rows:
        blocked_by = r.get("blocked_by")
        if isinstance(blocked_by, list):
            blocked_by = ", ".join(str(x) for x in blocked_by)
        root = r.get("root_blocker") if "root_blocker" in r else r.get("is_root")
        wait = fmt.number(r.get("wait_s") or r.get("waiting_s") or r.get("state_age_s"))
        cells.append(
            [
                num_cell(r.get("pid")),
                text_cell(blocked_by),
                text_cell(root),
                text_cell(r.get("state")),
                num_cell(wait, fmt.seconds),
                sql_cell(r.get("query"), 120),
            ]
        )
    empty = (
        "No session was waiting for another."
        if ctx.snap.has("blocking")
        else (f"Not collected: {ctx.snap.section('blocking').error}")
    )
    return Table("locks-blocking", "Blocking chains", columns, cells, empty)


def _lock_summary(ctx: ReportContext) -> Table:
    counts: dict[tuple[str, str, str], int] = {}
    for r in ctx.snap.rows("locks"):
        key = (text(r.get("locktype")), text(r.get("mode")), text(r.get("granted")))
        counts[key] = counts.get(key, 0) + 1
    rows = [
        [text_cell(k[0]), text_cell(k[1]), text_cell(k[2]), num_cell(v)]
        for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return Table(
        "locks-summary",
        "Locks held and awaited",
        [Column("lock type"), Column("mode"), Column("granted"), Column("count", True)],
        rows,
        "No locks." if ctx.snap.has("locks") else "Locks were not collected.",
    )
