"""Rules about the workload: where time and I/O go, spills to disk, cache, JIT.

Statements come from pg_stat_statements (cluster-wide, all databases); with
two snapshots each counter is the interval's delta.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pgtune_hx.analyze.common import (
    config_size,
    human_bytes,
    num,
    qualified,
    ratio,
    rounded,
    short_query,
)
from pgtune_hx.analyze.engine import Context
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import rule
from pgtune_hx.collect.versions import is_own_query

STATEMENT_MANUAL = "https://www.postgresql.org/docs/current/pgstatstatements.html"


def statement_object(row: dict[str, Any]) -> str:
    return f"queryid {row.get('queryid')}"


def _statements(ctx: Context) -> list[dict[str, Any]]:
    """Top-level statements with calls in the window (the interval, or since reset),
    without the snapshots' own queries."""
    return ctx.cache(
        "statements_called",
        lambda: [
            r
            for r in ctx.counters("statements")
            if num(r.get("calls")) > 0
            and r.get("toplevel", True) is not False
            and not is_own_query(r.get("query"))
        ],
    )


def _block_size(ctx: Context) -> int:
    return int(num(ctx.snapshot.server.get("block_size"), 8192))


def _statement_evidence(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    calls = num(row.get("calls"))
    total = num(row.get("total_exec_time"))
    evidence: dict[str, Any] = {
        "queryid": row.get("queryid"),
        "datname": row.get("datname"),
        "rolname": row.get("rolname"),
        "calls": int(calls),
        "total_exec_time_ms": round(total, 3),
        "mean_exec_time_ms": round(total / calls, 3) if calls else None,
        "rows": int(num(row.get("rows"))),
        "shared_blks_hit": int(num(row.get("shared_blks_hit"))),
        "shared_blks_read": int(num(row.get("shared_blks_read"))),
        "temp_blks_written": int(num(row.get("temp_blks_written"))),
        "query": short_query(row.get("query")),
    }
    if ctx.since is not None:
        evidence["interval_s"] = rounded(ctx.interval_s, 1)
    return evidence


def _explain_fix(row: dict[str, Any]) -> str:
    db = row.get("datname") or "<database>"
    return (
        f"-- in database {db}: EXPLAIN (ANALYZE, BUFFERS) the statement with real parameters, "
        "or let the index advisor look at it: pgtune-hx advise"
    )


def _top(
    ctx: Context,
    *,
    measure: Callable[[dict[str, Any]], float],
    top: int,
    min_share: float,
    min_value: float,
) -> Iterator[tuple[dict[str, Any], float, float, float]]:
    """(row, value, share of the whole workload, total) for the largest statements."""
    measured = [(measure(r), r) for r in _statements(ctx)]
    total = sum(value for value, _ in measured)
    if total <= 0:
        return
    measured.sort(key=lambda pair: pair[0], reverse=True)
    for value, row in measured[:top]:
        share = value / total
        if value < min_value or share < min_share:
            continue
        yield row, value, share, total


def _exec_time(row: dict[str, Any]) -> float:
    return num(row.get("total_exec_time")) + num(row.get("total_plan_time"))


@rule(
    "workload.top_total_time",
    severity=Severity.info,
    title="Statement takes a large share of the server's execution time",
    requires=("statements",),
)
def top_statements_by_total_time(
    ctx: Context, *, top: int = 5, min_share: float = 0.1, min_total_ms: float = 60_000.0
) -> Iterator[Finding]:
    """The statements that use most of the server's time (planning plus
    execution, summed over calls) are where tuning pays first: a 10% gain on
    a statement taking half the time beats any gain on the rest.

    https://www.postgresql.org/docs/current/pgstatstatements.html
    """
    for row, value, share, total in _top(
        ctx, measure=_exec_time, top=top, min_share=min_share, min_value=min_total_ms
    ):
        evidence = _statement_evidence(ctx, row)
        evidence.update(
            {
                "total_time_ms": round(value, 3),
                "share_of_total_time": round(share, 4),
                "workload_total_time_ms": round(total, 3),
            }
        )
        yield ctx.finding(
            object=statement_object(row),
            evidence=evidence,
            fix=_explain_fix(row),
            fix_kind="action",
            impact=value,
        )


@rule(
    "workload.slow_mean_time",
    severity=Severity.warning,
    title="Statement is slow on average",
    requires=("statements",),
)
def slow_statements(
    ctx: Context, *, min_mean_ms: float = 500.0, min_calls: int = 10, top: int = 10
) -> Iterator[Finding]:
    """Statements called repeatedly that take ``min_mean_ms`` or more per call
    make users wait every time; their plans (EXPLAIN ANALYZE) usually show a
    missing index, a bad estimate or a spill.

    https://www.postgresql.org/docs/current/pgstatstatements.html
    """
    rows = [
        r
        for r in _statements(ctx)
        if num(r.get("calls")) >= min_calls
        and num(r.get("total_exec_time")) / num(r.get("calls")) >= min_mean_ms
    ]
    rows.sort(key=lambda r: num(r.get("total_exec_time")), reverse=True)
    for row in rows[:top]:
        evidence = _statement_evidence(ctx, row)
        evidence["max_exec_time_ms"] = rounded(num(row.get("max_exec_time")), 3)
        evidence["stddev_exec_time_ms"] = rounded(num(row.get("stddev_exec_time")), 3)
        yield ctx.finding(
            object=statement_object(row),
            evidence=evidence,
            fix=_explain_fix(row),
            fix_kind="action",
            impact=num(row.get("total_exec_time")),
        )


def _io_blocks(row: dict[str, Any]) -> float:
    return num(row.get("shared_blks_read")) + num(row.get("temp_blks_read"))


@rule(
    "workload.top_io",
    severity=Severity.info,
    title="Statement reads a large share of all blocks read from outside shared buffers",
    requires=("statements",),
)
def top_statements_by_io(
    ctx: Context, *, top: int = 5, min_share: float = 0.1, min_blocks: int = 100_000
) -> Iterator[Finding]:
    """Blocks a statement reads from the operating system (shared blocks not
    found in shared buffers, plus temporary file blocks) are the I/O it causes.
    The read time (with track_io_timing on) shows how much of its time that is.

    https://www.postgresql.org/docs/current/pgstatstatements.html
    """
    block = _block_size(ctx)
    for row, value, share, _total in _top(
        ctx, measure=_io_blocks, top=top, min_share=min_share, min_value=min_blocks
    ):
        evidence = _statement_evidence(ctx, row)
        read_time = num(row.get("shared_blk_read_time", row.get("blk_read_time")))
        evidence.update(
            {
                "blocks_read": int(value),
                "bytes_read": int(value * block),
                "read": human_bytes(value * block),
                "share_of_blocks_read": round(share, 4),
                "read_time_ms": round(read_time, 3),
                "track_io_timing": ctx.setting("track_io_timing"),
            }
        )
        yield ctx.finding(
            object=statement_object(row),
            evidence=evidence,
            fix=_explain_fix(row),
            fix_kind="action",
            impact=value * block,
        )


@rule(
    "workload.temp_spill",
    severity=Severity.warning,
    title="Statement spills sorts or hashes to temporary files",
    requires=("statements",),
)
def temp_file_spills(
    ctx: Context,
    *,
    min_temp_bytes: int = 64 * 1024 * 1024,
    top: int = 10,
    headroom: float = 2.0,
    max_work_mem_bytes: int = 1024**3,
) -> Iterator[Finding]:
    """A sort, hash or materialisation that does not fit in work_mem (times
    hash_mem_multiplier for hashes) writes temporary files: disk I/O instead
    of memory. The suggestion sizes work_mem for the spilling statement at
    ``headroom`` times its temporary bytes per call (in-memory sorts need more
    than the compact on-disk format), capped at ``max_work_mem_bytes``, to be
    set for the role or session that runs it rather than globally: work_mem
    is per sort node, per backend.

    https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-WORK-MEM
    """
    block = _block_size(ctx)
    work_mem = ctx.setting_base("work_mem")
    db = next(
        (r for r in ctx.counters("database") if r.get("datname") == ctx.database),
        {},
    )  # over the interval too, like the statements
    rows = [
        r for r in _statements(ctx) if num(r.get("temp_blks_written")) * block >= min_temp_bytes
    ]
    rows.sort(key=lambda r: num(r.get("temp_blks_written")), reverse=True)
    for row in rows[:top]:
        written = num(row.get("temp_blks_written")) * block
        calls = num(row.get("calls"))
        per_call = written / calls
        suggested = min(max_work_mem_bytes, per_call * headroom)
        evidence = _statement_evidence(ctx, row)
        evidence.update(
            {
                "temp_bytes_written": int(written),
                "temp_written": human_bytes(written),
                "temp_bytes_per_call": int(per_call),
                "work_mem_bytes": None if work_mem is None else int(work_mem),
                "hash_mem_multiplier": ctx.setting("hash_mem_multiplier"),
                "database_temp_files": db.get("temp_files"),
                "database_temp_bytes": db.get("temp_bytes"),
            }
        )
        value = config_size(suggested)
        role = row.get("rolname")
        if work_mem is not None and suggested <= work_mem:
            fix, kind = _explain_fix(row), "action"
        elif role:
            fix = (
                f"ALTER ROLE {qualified(None, str(role))} SET work_mem = '{value}';\n"
                f"-- or only around this statement: SET LOCAL work_mem = '{value}';"
            )
            kind = "sql"
        else:
            fix, kind = f"SET LOCAL work_mem = '{value}';  -- around this statement", "sql"
        yield ctx.finding(
            object=statement_object(row),
            evidence=evidence,
            fix=fix,
            fix_kind=kind,
            impact=written,
        )


@rule(
    "workload.cache_hit_ratio",
    severity=Severity.warning,
    title="Low shared-buffer cache hit ratio",
    requires=("database", "tables"),
)
def low_cache_hit_ratio(
    ctx: Context,
    *,
    min_hit_ratio: float = 0.99,
    min_reads: int = 100_000,
    top_objects: int = 5,
) -> Iterator[Finding]:
    """Blocks not found in shared buffers are read from the operating system
    (its page cache or the disk). An OLTP database normally finds 99% of the
    blocks it needs in shared buffers. The evidence names the tables that
    read the most blocks (heap, index and TOAST) in this database, which are
    the ones to index better or to give more memory.

    https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-DATABASE-VIEW
    """
    db = next((r for r in ctx.counters("database") if r.get("datname") == ctx.database), None)
    if db is None:
        return
    hits, reads = num(db.get("blks_hit")), num(db.get("blks_read"))
    hit_ratio = ratio(hits, hits + reads)
    if hit_ratio is None or reads < min_reads or hit_ratio >= min_hit_ratio:
        return
    block = _block_size(ctx)

    def read_of(r: dict[str, Any]) -> float:
        return sum(
            num(r.get(c))
            for c in ("heap_blks_read", "idx_blks_read", "toast_blks_read", "tidx_blks_read")
        )

    objects = sorted(ctx.counters("tables"), key=read_of, reverse=True)[:top_objects]
    shared_buffers = ctx.setting_base("shared_buffers")
    memory = num(ctx.snapshot.host.get("effective_memory_bytes")) or num(
        ctx.snapshot.host.get("memory_bytes")
    )
    evidence: dict[str, Any] = {
        "datname": ctx.database,
        "blks_hit": int(hits),
        "blks_read": int(reads),
        "hit_ratio": round(hit_ratio, 4),
        "shared_buffers_bytes": None if shared_buffers is None else int(shared_buffers),
        "host_memory_bytes": int(memory) if memory else None,
        "top_objects": [
            {
                "table": qualified(r.get("schemaname"), str(r.get("relname"))),
                "blocks_read": int(read_of(r)),
                "heap_blks_read": int(num(r.get("heap_blks_read"))),
                "idx_blks_read": int(num(r.get("idx_blks_read"))),
                "seq_scan": int(num(r.get("seq_scan"))),
            }
            for r in objects
            if read_of(r) > 0
        ],
    }
    if ctx.since is not None:
        evidence["interval_s"] = rounded(ctx.interval_s, 1)
    if shared_buffers is not None and memory and shared_buffers < 0.25 * memory:
        target = 0.25 * memory
        fix = (
            f"shared_buffers = '{config_size(target)}'  "
            f"# 25% of {human_bytes(memory)}; needs a restart. "
            "Also check the top objects for missing indexes (pgtune-hx advise)"
        )
        kind = "config"
    else:
        fix = (
            "-- shared_buffers is already sized to memory: reduce what the top objects read "
            "(indexes for their sequential scans: pgtune-hx advise), or add memory"
        )
        kind = "action"
    yield ctx.finding(
        object=f"database {qualified(None, str(ctx.database))}",
        evidence=evidence,
        fix=fix,
        fix_kind=kind,
        impact=reads * block,
        confidence="medium",
    )


def _jit_ms(row: dict[str, Any]) -> float:
    return sum(
        num(row.get(c))
        for c in (
            "jit_generation_time",
            "jit_inlining_time",
            "jit_optimization_time",
            "jit_emission_time",
            "jit_deform_time",
        )
    )


@rule(
    "workload.jit_overhead",
    severity=Severity.warning,
    title="JIT compilation costs more than it saves on short statements",
    requires=("statements",),
)
def jit_overhead(
    ctx: Context,
    *,
    min_jit_share: float = 0.2,
    max_mean_ms: float = 1000.0,
    min_calls: int = 3,
    top: int = 10,
) -> Iterator[Finding]:
    """JIT compiles expressions when a plan's cost passes jit_above_cost; the
    compilation takes tens to hundreds of milliseconds per execution. For
    statements that run briefly (cost estimates inflated by bad statistics or
    large tables scanned with LIMIT), that compile time is a large share of
    the run time. Reported when JIT time is ``min_jit_share`` of the execution
    time of statements with a mean under ``max_mean_ms``.

    https://www.postgresql.org/docs/current/jit-decision.html
    """
    found = []
    for row in _statements(ctx):
        calls = num(row.get("calls"))
        if calls < min_calls or num(row.get("jit_functions")) <= 0:
            continue
        total = num(row.get("total_exec_time"))
        jit = _jit_ms(row)
        share = ratio(jit, total)
        if share is None or share < min_jit_share or total / calls > max_mean_ms:
            continue
        found.append((row, jit, share))
    found.sort(key=lambda f: f[1], reverse=True)
    above = ctx.setting("jit_above_cost")
    for row, jit, share in found[:top]:
        evidence = _statement_evidence(ctx, row)
        evidence.update(
            {
                "jit_functions": int(num(row.get("jit_functions"))),
                "jit_time_ms": round(jit, 3),
                "jit_share_of_exec_time": round(share, 4),
                "jit_above_cost": above,
                "jit_inline_above_cost": ctx.setting("jit_inline_above_cost"),
                "jit_optimize_above_cost": ctx.setting("jit_optimize_above_cost"),
            }
        )
        role = row.get("rolname")
        raise_to = max(1_000_000, int(num(above, 100_000)) * 10) if above else 1_000_000
        lines = []
        if role:
            lines.append(f"ALTER ROLE {qualified(None, str(role))} SET jit = off;")
        lines.append(
            f"-- or server-wide: jit_above_cost = {raise_to} (compile only for really "
            "expensive plans); jit = off for OLTP servers"
        )
        yield ctx.finding(
            object=statement_object(row),
            evidence=evidence,
            fix="\n".join(lines),
            fix_kind="sql" if role else "config",
            impact=jit,
        )
