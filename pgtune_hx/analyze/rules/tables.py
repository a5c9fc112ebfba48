"""Rules about tables: scans, vacuum, statistics, bloat, HOT updates, wraparound, sequences."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pgtune_hx.analyze.common import (
    human_bytes,
    human_duration,
    num,
    qualified,
    ratio,
    rounded,
    seconds_between,
)
from pgtune_hx.analyze.engine import Context
from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.analyze.registry import rule

# Both transaction IDs and multixact IDs wrap around at 2^31 of age; the
# server stops assigning new ones a few million before that.
WRAP_LIMIT = 2**31


def table_name(row: dict[str, Any]) -> str:
    return qualified(row.get("schemaname"), str(row.get("relname")))


def reloptions(row: dict[str, Any]) -> dict[str, str]:
    """['fillfactor=90', 'autovacuum_enabled=false'] -> {'fillfactor': '90', ...}"""
    found: dict[str, str] = {}
    for item in row.get("reloptions") or ():
        key, _, value = str(item).partition("=")
        found[key] = value
    return found


def _is_table(row: dict[str, Any]) -> bool:
    return row.get("relkind", "r") in ("r", "m", "t")


@dataclass(frozen=True)
class Autovacuum:
    """The autovacuum settings in force for one table (reloptions over postgresql.conf)."""

    enabled: bool
    vacuum_threshold: float
    vacuum_scale_factor: float
    insert_threshold: float
    insert_scale_factor: float
    analyze_threshold: float
    analyze_scale_factor: float
    max_threshold: float  # PostgreSQL 18: a cap on the vacuum trigger; -1 = none
    cost_limit: float
    overrides: dict[str, str]

    def tuples(self, row: dict[str, Any]) -> float:
        # autovacuum takes a never-vacuumed table (reltuples -1) as empty
        return max(0.0, num(row.get("reltuples")))

    def vacuum_trigger(self, row: dict[str, Any]) -> float:
        trigger = self.vacuum_threshold + self.vacuum_scale_factor * self.tuples(row)
        if self.max_threshold >= 0:
            trigger = min(trigger, self.max_threshold)
        return trigger

    def insert_trigger(self, row: dict[str, Any]) -> float | None:
        if self.insert_threshold < 0:
            return None  # insert-triggered vacuum switched off
        return self.insert_threshold + self.insert_scale_factor * self.tuples(row)

    def analyze_trigger(self, row: dict[str, Any]) -> float:
        return self.analyze_threshold + self.analyze_scale_factor * self.tuples(row)


def _autovacuum(ctx: Context, options: dict[str, str]) -> Autovacuum:
    def pick(name: str, default: float) -> float:
        if name in options:
            return num(options[name], default)
        value = ctx.setting(name)
        return num(value, default) if value is not None else default

    enabled = ctx.setting("autovacuum") != "off" and ctx.setting("track_counts") != "off"
    if options.get("autovacuum_enabled", "").lower() in ("false", "off", "0", "no"):
        enabled = False
    cost_limit = pick("autovacuum_vacuum_cost_limit", -1)
    if cost_limit < 0:
        cost_limit = num(ctx.setting("vacuum_cost_limit"), 200)
    return Autovacuum(
        enabled=enabled,
        vacuum_threshold=pick("autovacuum_vacuum_threshold", 50),
        vacuum_scale_factor=pick("autovacuum_vacuum_scale_factor", 0.2),
        insert_threshold=pick("autovacuum_vacuum_insert_threshold", 1000),
        insert_scale_factor=pick("autovacuum_vacuum_insert_scale_factor", 0.2),
        analyze_threshold=pick("autovacuum_analyze_threshold", 50),
        analyze_scale_factor=pick("autovacuum_analyze_scale_factor", 0.1),
        max_threshold=pick("autovacuum_vacuum_max_threshold", -1),
        cost_limit=cost_limit,
        overrides={k: v for k, v in options.items() if k.startswith("autovacuum")},
    )


def autovacuum_for(ctx: Context, row: dict[str, Any]) -> Autovacuum:
    """The table's autovacuum settings; tables without overrides share the server's."""
    if not row.get("reloptions"):
        return ctx.cache("autovacuum_defaults", lambda: _autovacuum(ctx, {}))
    return _autovacuum(ctx, reloptions(row))


# (at least this many rows, scale factor, threshold): autovacuum after about
# 5% of a 100k-row table changed, 0.5% of a 100M-row one.
SCALE_STEPS = (
    (100_000_000, 0.005, 10_000),
    (10_000_000, 0.01, 10_000),
    (1_000_000, 0.02, 1_000),
    (100_000, 0.05, 1_000),
)
# (at least this many bytes, cost limit): bigger tables need more I/O budget.
COST_STEPS = ((10 * 1024**3, 2000), (1024**3, 1000))


def sized_autovacuum(rows: float, table_bytes: float, current_cost_limit: float) -> dict[str, str]:
    """Per-table autovacuum settings sized to the table.

    Tables under 100,000 rows keep the defaults (they are cheap to vacuum at
    20%); larger ones vacuum and analyze after a smaller fraction changed, and
    tables over 1 GB get a bigger cost budget.

    >>> sized_autovacuum(50_000_000, 12 * 1024**3, 200)["autovacuum_vacuum_scale_factor"]
    '0.01'
    >>> sized_autovacuum(50_000_000, 12 * 1024**3, 200)["autovacuum_vacuum_cost_limit"]
    '2000'
    >>> sized_autovacuum(5_000, 1024**2, 200)
    {}
    """
    settings: dict[str, str] = {}
    for at_least, scale, threshold in SCALE_STEPS:
        if rows >= at_least:
            settings["autovacuum_vacuum_scale_factor"] = f"{scale}"
            settings["autovacuum_vacuum_threshold"] = f"{threshold}"
            settings["autovacuum_vacuum_insert_scale_factor"] = f"{scale}"
            settings["autovacuum_vacuum_insert_threshold"] = f"{threshold}"
            settings["autovacuum_analyze_scale_factor"] = f"{scale}"
            settings["autovacuum_analyze_threshold"] = f"{threshold}"
            break
    for at_least, limit in COST_STEPS:
        if table_bytes >= at_least:
            if current_cost_limit < limit:
                settings["autovacuum_vacuum_cost_limit"] = f"{limit}"
            break
    return settings


def alter_table_set(table: str, settings: dict[str, str]) -> str:
    body = ", ".join(f"{k} = {v}" for k, v in settings.items())
    return f"ALTER TABLE {table} SET ({body});"


def oldest_xmin_holder(ctx: Context) -> dict[str, Any] | None:
    """The session whose snapshot is oldest: while it lives, VACUUM keeps dead rows."""

    def build() -> dict[str, Any] | None:
        holders = [
            r for r in ctx.snapshot.rows("activity") if r.get("backend_xmin") not in (None, "")
        ]
        if not holders:
            return None
        holder = max(holders, key=lambda r: num(r.get("backend_xmin_age")))
        return {
            "pid": holder.get("pid"),
            "state": holder.get("state"),
            "backend_xmin_age": holder.get("backend_xmin_age"),
            "xact_start": holder.get("xact_start"),
        }

    return ctx.cache("oldest_xmin_holder", build)


@rule(
    "table.seq_scan_heavy",
    severity=Severity.warning,
    title="Large table read mostly by sequential scans (missing index?)",
    requires=("tables",),
)
def seq_scan_heavy_tables(
    ctx: Context,
    *,
    min_table_bytes: int = 100 * 1024 * 1024,
    min_seq_scans: int = 100,
    min_seq_share: float = 0.9,
) -> Iterator[Finding]:
    """A large table where sequential scans read almost all rows, scan after
    scan, usually lacks an index for a frequent query. Rows fetched by index
    scans are compared with rows read by sequential scans (with two snapshots,
    in the interval). The index advisor (``pgtune-hx advise``) finds the
    statements behind the scans and verifies candidate indexes with the
    planner.

    https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-TABLES-VIEW
    """
    sizes = {r.get("relid"): r for r in ctx.snapshot.rows("tables")}
    for row in ctx.counters("tables"):
        if (row.get("seq_scan") or 0) < max(min_seq_scans, 1):
            continue  # cheap test first: most tables of a big schema stop here
        current = sizes.get(row.get("relid"), row)
        size = num(current.get("table_bytes"))
        seq_scans = num(row.get("seq_scan"))
        if size < min_table_bytes or seq_scans <= 0 or seq_scans < min_seq_scans:
            continue
        seq_rows = num(row.get("seq_tup_read"))
        idx_rows = num(row.get("idx_tup_fetch"))
        share = ratio(seq_rows, seq_rows + idx_rows)
        if share is None or share < min_seq_share:
            continue
        live = num(current.get("n_live_tup"))
        evidence: dict[str, Any] = {
            "seq_scan": int(seq_scans),
            "seq_tup_read": int(seq_rows),
            "idx_scan": int(num(row.get("idx_scan"))),
            "idx_tup_fetch": int(idx_rows),
            "seq_read_share": round(share, 4),
            "rows_per_seq_scan": round(seq_rows / seq_scans, 1),
            "n_live_tup": int(live),
            "table_bytes": int(size),
            "table_size": human_bytes(size),
        }
        if ctx.since is not None:
            evidence["interval_s"] = rounded(ctx.interval_s, 1)
        yield ctx.finding(
            object=table_name(row),
            evidence=evidence,
            fix=(
                "pgtune-hx advise  # the index advisor finds the statements scanning "
                f"{table_name(row)} and verifies candidate indexes with the planner"
            ),
            fix_kind="action",
            impact=seq_rows,
            confidence="medium",
        )


def _vacuum_evidence(ctx: Context, row: dict[str, Any], av: Autovacuum) -> dict[str, Any]:
    last = row.get("last_autovacuum") or row.get("last_vacuum")
    since_vacuum = seconds_between(last, ctx.now)
    return {
        "n_dead_tup": int(num(row.get("n_dead_tup"))),
        "n_live_tup": int(num(row.get("n_live_tup"))),
        "dead_ratio": rounded(ratio(num(row.get("n_dead_tup")), _tuples(row)), 4),
        "reltuples": int(max(0.0, num(row.get("reltuples")))),
        "table_bytes": int(num(row.get("table_bytes"))),
        "table_size": human_bytes(num(row.get("table_bytes"))),
        "last_vacuum": row.get("last_vacuum"),
        "last_autovacuum": row.get("last_autovacuum"),
        "since_last_vacuum": human_duration(since_vacuum) if since_vacuum is not None else None,
        "autovacuum_count": int(num(row.get("autovacuum_count"))),
        "autovacuum_enabled": av.enabled,
        "autovacuum_vacuum_trigger": int(av.vacuum_trigger(row)),
        "table_autovacuum_overrides": av.overrides,
    }


def _tuples(row: dict[str, Any]) -> float:
    return num(row.get("n_live_tup")) + num(row.get("n_dead_tup"))


@rule(
    "table.dead_tuples",
    severity=Severity.warning,
    title="Dead tuples have built up",
    requires=("tables",),
)
def dead_tuple_buildup(
    ctx: Context,
    *,
    min_dead_tuples: int = 10_000,
    max_dead_ratio: float = 0.2,
) -> Iterator[Finding]:
    """Dead row versions take space, slow scans and index lookups, and hold
    back index-only scans until VACUUM removes them. VACUUM cannot remove rows
    that a running transaction may still see: the evidence names the session
    with the oldest snapshot (backend_xmin).

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY
    """
    holder = oldest_xmin_holder(ctx)
    for row in ctx.snapshot.rows("tables"):
        if (row.get("n_dead_tup") or 0) < min_dead_tuples or not _is_table(row):
            continue
        dead = num(row.get("n_dead_tup"))
        share = ratio(dead, _tuples(row))
        if dead < min_dead_tuples or share is None or share < max_dead_ratio:
            continue
        av = autovacuum_for(ctx, row)
        evidence = _vacuum_evidence(ctx, row, av)
        evidence["oldest_xmin_holder"] = holder
        table = table_name(row)
        fix = f"VACUUM (VERBOSE, ANALYZE) {table};"
        if holder is not None:
            fix = (
                f"-- session {holder['pid']} holds the oldest snapshot: VACUUM cannot remove "
                f"rows it may still see\n{fix}"
            )
        yield ctx.finding(
            object=table,
            evidence=evidence,
            fix=fix,
            fix_kind="sql",
            impact=num(row.get("table_bytes")) * share,
        )


@rule(
    "table.autovacuum_lag",
    severity=Severity.warning,
    title="Autovacuum is falling behind on this table",
    requires=("tables",),
)
def autovacuum_falling_behind(
    ctx: Context,
    *,
    lag_factor: float = 2.0,
    min_tuples: int = 1_000,
) -> Iterator[Finding]:
    """Autovacuum processes a table once its dead tuples pass
    ``autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor * reltuples``
    (and its inserts since the last vacuum pass the insert threshold). A table
    at ``lag_factor`` times that trigger, or with autovacuum switched off, is
    not being kept up with: workers are busy elsewhere, throttled by the cost
    limit, or disabled. The fix sets per-table settings sized to the table
    (scale factors, thresholds, insert thresholds, cost limit).

    https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM
    """
    rows = [r for r in ctx.snapshot.rows("tables") if _is_table(r)]
    behind: list[tuple[dict[str, Any], Autovacuum, list[str]]] = []
    for row in rows:
        if (row.get("n_dead_tup") or 0) < min_tuples and (
            row.get("n_ins_since_vacuum") or 0
        ) < min_tuples:
            continue  # cheap test first
        av = autovacuum_for(ctx, row)
        dead = num(row.get("n_dead_tup"))
        inserted = num(row.get("n_ins_since_vacuum"))
        reasons: list[str] = []
        trigger = av.vacuum_trigger(row)
        if dead >= min_tuples and dead > trigger * (1.0 if not av.enabled else lag_factor):
            reasons.append("dead tuples past the vacuum trigger")
        insert_trigger = av.insert_trigger(row)
        if (
            insert_trigger is not None
            and inserted >= min_tuples
            and inserted > insert_trigger * (1.0 if not av.enabled else lag_factor)
        ):
            reasons.append("inserts past the insert vacuum trigger")
        if reasons:
            behind.append((row, av, reasons))
    workers = ctx.setting("autovacuum_max_workers")
    for row, av, reasons in behind:
        table = table_name(row)
        evidence = _vacuum_evidence(ctx, row, av)
        evidence.update(
            {
                "n_ins_since_vacuum": int(num(row.get("n_ins_since_vacuum"))),
                "autovacuum_insert_trigger": (
                    None if av.insert_trigger(row) is None else int(av.insert_trigger(row) or 0)
                ),
                "reasons": reasons,
                "tables_past_trigger": len(behind),
                "autovacuum_max_workers": None if workers is None else int(num(workers)),
                "autovacuum_vacuum_cost_limit": int(av.cost_limit),
            }
        )
        settings = sized_autovacuum(
            max(num(row.get("reltuples")), num(row.get("n_live_tup"))),
            num(row.get("table_bytes")),
            av.cost_limit,
        )
        if not av.enabled:
            settings = {"autovacuum_enabled": "on", **settings}
        lines = []
        if settings:
            lines.append(alter_table_set(table, settings))
        lines.append(f"VACUUM (VERBOSE, ANALYZE) {table};")
        if ctx.setting("autovacuum") == "off":
            lines.append("-- and in postgresql.conf: autovacuum = on")
        yield ctx.finding(
            object=table,
            evidence=evidence,
            fix="\n".join(lines),
            fix_kind="sql",
            impact=num(row.get("n_dead_tup")) + num(row.get("n_ins_since_vacuum")),
            severity=Severity.warning,
        )


@rule(
    "table.stale_stats",
    severity=Severity.warning,
    title="Planner statistics are missing or stale",
    requires=("tables",),
)
def stale_statistics(
    ctx: Context,
    *,
    min_rows: int = 1_000,
    stale_factor: float = 2.0,
) -> Iterator[Finding]:
    """The planner estimates row counts from the statistics ANALYZE gathers.
    A table never analyzed, or changed by ``stale_factor`` times its analyze
    trigger (``autovacuum_analyze_threshold + autovacuum_analyze_scale_factor
    * reltuples``) since the last ANALYZE, gets plans built on wrong numbers.

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS
    """
    for row in ctx.snapshot.rows("tables"):
        if max(row.get("n_live_tup") or 0, row.get("n_mod_since_analyze") or 0) < min_rows:
            continue  # neither never-analyzed nor stale can hold: cheap test first
        if not _is_table(row) or row.get("relkind") == "t":
            continue
        analyzed = row.get("last_analyze") or row.get("last_autoanalyze")
        live = num(row.get("n_live_tup"))
        modified = num(row.get("n_mod_since_analyze"))
        av = autovacuum_for(ctx, row)
        trigger = av.analyze_trigger(row)
        never = analyzed is None and max(live, modified) >= min_rows
        stale = analyzed is not None and modified >= min_rows and modified > stale_factor * trigger
        if not (never or stale):
            continue
        table = table_name(row)
        since = seconds_between(analyzed, ctx.now)
        settings = sized_autovacuum(max(num(row.get("reltuples")), live), 0, av.cost_limit)
        analyze_settings = {k: v for k, v in settings.items() if "analyze" in k}
        if not av.enabled:
            analyze_settings = {"autovacuum_enabled": "on", **analyze_settings}
        lines = [f"ANALYZE (VERBOSE) {table};"]
        if analyze_settings:
            lines.append(alter_table_set(table, analyze_settings))
        yield ctx.finding(
            object=table,
            evidence={
                "never_analyzed": analyzed is None,
                "last_analyze": row.get("last_analyze"),
                "last_autoanalyze": row.get("last_autoanalyze"),
                "since_last_analyze": human_duration(since) if since is not None else None,
                "n_live_tup": int(live),
                "n_mod_since_analyze": int(modified),
                "reltuples": int(num(row.get("reltuples"))),
                "autovacuum_analyze_trigger": int(trigger),
                "autovacuum_enabled": av.enabled,
            },
            fix="\n".join(lines),
            fix_kind="sql",
            impact=modified if not never else max(live, modified),
        )


@rule(
    "table.low_hot_ratio",
    severity=Severity.info,
    title="Few updates are HOT (heap-only tuple) updates",
    requires=("tables",),
)
def low_hot_ratio(
    ctx: Context,
    *,
    min_updates: int = 10_000,
    min_hot_ratio: float = 0.5,
    fillfactor_step: int = 10,
    min_fillfactor: int = 70,
) -> Iterator[Finding]:
    """A HOT update writes no index entries and can be cleaned up without
    VACUUM; it needs free space on the same page and no change to an indexed
    column. From PostgreSQL 16, ``n_tup_newpage_upd`` tells which of the two
    stopped it: updates that moved to a new page point at a full page (lower
    the fillfactor); the rest changed an indexed column (review indexes on the
    updated columns). A lower fillfactor applies to new pages; rewrite the
    table (VACUUM FULL, pg_repack) to apply it to existing ones.

    https://www.postgresql.org/docs/current/storage-hot.html
    """
    for row in ctx.counters("tables"):
        updates = num(row.get("n_tup_upd"))
        hot = num(row.get("n_tup_hot_upd"))
        if updates <= 0 or updates < min_updates:
            continue
        hot_ratio = hot / updates
        if hot_ratio >= min_hot_ratio:
            continue
        options = reloptions(row)
        fillfactor = int(num(options.get("fillfactor"), 100))
        target = max(min_fillfactor, fillfactor - fillfactor_step)
        non_hot = updates - hot
        newpage = row.get("n_tup_newpage_upd")
        table = table_name(row)
        evidence: dict[str, Any] = {
            "n_tup_upd": int(updates),
            "n_tup_hot_upd": int(hot),
            "hot_ratio": round(hot_ratio, 4),
            "fillfactor": fillfactor,
            "n_tup_newpage_upd": None if newpage is None else int(num(newpage)),
        }
        if ctx.since is not None:
            evidence["interval_s"] = rounded(ctx.interval_s, 1)
        fillfactor_fix = (
            f"ALTER TABLE {table} SET (fillfactor = {target});\n"
            "-- applies to new pages; rewrite the table (VACUUM FULL or pg_repack) to apply "
            "it to existing ones"
        )
        if newpage is None:
            fix, kind, confidence = (
                fillfactor_fix + "\n-- and check whether the updates change indexed columns",
                "sql",
                "medium",
            )
        elif num(newpage) >= 0.5 * non_hot and fillfactor > min_fillfactor:
            evidence["cause"] = "no room on the page"
            fix, kind, confidence = fillfactor_fix, "sql", "high"
        else:
            evidence["cause"] = "updates change indexed columns"
            fix, kind, confidence = (
                f"-- updates of {table} change indexed columns: an index on a frequently "
                "updated column prevents HOT; drop or narrow it if queries can do without",
                "action",
                "medium",
            )
        yield ctx.finding(
            object=table,
            evidence=evidence,
            fix=fix,
            fix_kind=kind,
            impact=non_hot,
            confidence=confidence,
        )


def _wraparound(
    ctx: Context,
    *,
    column: str,
    database_column: str,
    kind: str,
    warning_fraction: float,
    critical_fraction: float,
    freeze_setting: str,
) -> Iterator[Finding]:
    freeze_max = ctx.setting(freeze_setting)
    for row in ctx.snapshot.rows("database"):
        age = num(row.get(database_column), -1)
        if age < 0:
            continue
        used = age / WRAP_LIMIT
        if used < warning_fraction:
            continue
        name = str(row.get("datname"))
        yield ctx.finding(
            object=f"database {qualified(None, name)}",
            evidence={
                f"{kind}_age": int(age),
                "wraparound_limit": WRAP_LIMIT,
                "fraction_used": round(used, 4),
                "remaining": int(WRAP_LIMIT - age),
                freeze_setting: None if freeze_max is None else int(num(freeze_max)),
            },
            fix=(
                f"-- in database {name}: VACUUM (FREEZE, VERBOSE) the tables with the oldest "
                f"{kind} age (the per-table findings list them)"
            ),
            fix_kind="action",
            impact=used,
            severity=Severity.critical if used >= critical_fraction else Severity.warning,
        )
    floor = warning_fraction * WRAP_LIMIT
    for row in ctx.snapshot.rows("tables"):
        if (row.get(column) or 0) < floor:
            continue
        age = num(row.get(column), -1)
        if age < 0:
            continue
        used = age / WRAP_LIMIT
        if used < warning_fraction:
            continue
        table = table_name(row)
        holder = oldest_xmin_holder(ctx)
        yield ctx.finding(
            object=table,
            evidence={
                f"{kind}_age": int(age),
                "wraparound_limit": WRAP_LIMIT,
                "fraction_used": round(used, 4),
                "remaining": int(WRAP_LIMIT - age),
                freeze_setting: None if freeze_max is None else int(num(freeze_max)),
                "last_autovacuum": row.get("last_autovacuum"),
                "last_vacuum": row.get("last_vacuum"),
                "oldest_xmin_holder": holder,
            },
            fix=f"VACUUM (FREEZE, VERBOSE) {table};",
            fix_kind="sql",
            impact=used,
            severity=Severity.critical if used >= critical_fraction else Severity.warning,
        )


@rule(
    "table.xid_wraparound",
    severity=Severity.warning,
    title="Transaction ID age is approaching wraparound",
    requires=("tables",),
)
def transaction_id_danger(
    ctx: Context, *, warning_fraction: float = 0.5, critical_fraction: float = 0.75
) -> Iterator[Finding]:
    """Transaction IDs are 32 bits: rows must be frozen before their age
    reaches 2^31, or the server stops assigning XIDs to protect the data.
    Autovacuum freezes tables whose age passes autovacuum_freeze_max_age; a
    table far beyond that means those vacuums do not finish (a long
    transaction, an abandoned replication slot or prepared transaction holds
    the horizon, or the table is too big for the cost limit). Warning at
    ``warning_fraction`` of 2^31, critical at ``critical_fraction``.

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
    """
    yield from _wraparound(
        ctx,
        column="xid_age",
        database_column="xid_age",
        kind="xid",
        warning_fraction=warning_fraction,
        critical_fraction=critical_fraction,
        freeze_setting="autovacuum_freeze_max_age",
    )


@rule(
    "table.mxid_wraparound",
    severity=Severity.warning,
    title="Multixact ID age is approaching wraparound",
    requires=("tables",),
)
def multixact_id_danger(
    ctx: Context, *, warning_fraction: float = 0.5, critical_fraction: float = 0.75
) -> Iterator[Finding]:
    """Multixact IDs (row locks shared by several transactions, foreign-key
    checks) wrap around like transaction IDs, at 2^31 of age. Autovacuum
    freezes them past autovacuum_multixact_freeze_max_age. Warning at
    ``warning_fraction`` of 2^31, critical at ``critical_fraction``.

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-MULTIXACT-WRAPAROUND
    """
    yield from _wraparound(
        ctx,
        column="mxid_age",
        database_column="mxid_age",
        kind="mxid",
        warning_fraction=warning_fraction,
        critical_fraction=critical_fraction,
        freeze_setting="autovacuum_multixact_freeze_max_age",
    )


@rule(
    "table.sequence_near_max",
    severity=Severity.warning,
    title="Sequence is close to the maximum of its type",
    requires=("sequences",),
)
def sequence_danger(
    ctx: Context, *, warning_fraction: float = 0.75, critical_fraction: float = 0.9
) -> Iterator[Finding]:
    """When a sequence reaches its maximum, nextval() fails and every insert
    that needs a new id fails with it. A sequence of type integer (the default
    for ``serial``) runs out at 2,147,483,647, and so does a bigint sequence
    feeding an integer column: the used share is measured against the smaller
    of the two limits (``used_ratio`` of the sequences section). Widening the
    sequence is not enough when the column is integer too: change both.

    https://www.postgresql.org/docs/current/sql-altersequence.html
    """
    for row in ctx.snapshot.rows("sequences"):
        used = row.get("used_ratio")
        if used is None or num(used) < warning_fraction:
            continue  # never used, or not readable by this role
        used = num(used)
        name = qualified(row.get("schemaname"), str(row.get("sequencename")))
        data_type = str(row.get("data_type") or "")
        column_type = row.get("column_type")
        owned_by = row.get("owned_by")
        narrow = [t for t in (data_type, column_type) if t in ("smallint", "integer")]
        lines: list[str] = []
        if data_type in ("smallint", "integer"):
            lines.append(f"ALTER SEQUENCE {name} AS bigint;")
        if owned_by and column_type in ("smallint", "integer"):
            table, _, column = str(owned_by).rpartition(".")
            lines.append(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bigint;  "
                "-- rewrites the table under an ACCESS EXCLUSIVE lock"
            )
        if narrow and not owned_by:
            lines.append(f"-- and widen the column(s) that take values from {name}")
        if lines:
            fix, kind = "\n".join(lines), "sql"
        else:
            fix = (
                f"-- {name} and its column are bigint already: restart it if old ids are "
                "free (ALTER SEQUENCE ... RESTART) or change the key scheme"
            )
            kind = "action"
        yield ctx.finding(
            object=name,
            evidence={
                "data_type": data_type,
                "owned_by": owned_by,
                "column_type": column_type,
                "last_value": row.get("last_value"),
                "usable_limit": row.get("usable_limit"),
                "increment_by": row.get("increment_by"),
                "used_ratio": round(used, 6),
                "values_remaining": row.get("remaining"),
                "cycle": row.get("cycle"),
            },
            fix=fix,
            fix_kind=kind,
            impact=used,
            severity=Severity.critical if used >= critical_fraction else Severity.warning,
        )


def bloat_evidence(row: dict[str, Any]) -> dict[str, Any]:
    block = num(row.get("block_size"), 8192)
    evidence: dict[str, Any] = {
        "method": row.get("method"),
        "relpages": int(num(row.get("relpages"))),
        "size_bytes": int(num(row.get("relpages")) * block),
        "size": human_bytes(num(row.get("relpages")) * block),
        "expected_pages": row.get("expected_pages"),
        "bloat_bytes": int(num(row.get("bloat_bytes"))),
        "bloat": human_bytes(num(row.get("bloat_bytes"))),
        "bloat_ratio": row.get("bloat_ratio"),
        "reltuples": int(num(row.get("reltuples"))),
        "fillfactor": row.get("fillfactor"),
    }
    for column in (
        "stats_columns",
        "columns",
        "approx_free_percent",
        "dead_tuple_percent",
        "avg_leaf_density",
        "leaf_fragmentation",
    ):
        if column in row:
            evidence[column] = row.get(column)
    return evidence


@rule(
    "table.bloat",
    severity=Severity.warning,
    title="Table holds much more space than its rows need",
    requires=("table_bloat",),
)
def table_bloat(
    ctx: Context,
    *,
    min_bloat_bytes: int = 100 * 1024 * 1024,
    min_bloat_ratio: float = 0.3,
) -> Iterator[Finding]:
    """VACUUM makes the space of dead rows reusable but rarely gives it back:
    after mass deletes or updates, or autovacuum falling behind, a table keeps
    pages it no longer needs, which sequential scans and the cache pay for.
    Estimated from reltuples, relpages, fillfactor and the column widths in
    pg_stats (the snapshot's table_bloat section); measured with pgstattuple
    for the largest candidates when the extension is installed (a read, never
    a write). An estimate with columns lacking statistics is not reported.

    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY
    """
    for row in ctx.snapshot.rows("table_bloat"):
        waste = num(row.get("bloat_bytes"))
        share = num(row.get("bloat_ratio"))
        if waste < min_bloat_bytes or share < min_bloat_ratio:
            continue
        measured = row.get("method") == "pgstattuple"
        if not measured and num(row.get("stats_columns")) < num(row.get("columns")):
            continue  # part of the row width is unknown: the estimate is not evidence
        table = table_name(row)
        yield ctx.finding(
            object=table,
            evidence=bloat_evidence(row),
            fix=(
                f"-- VACUUM FULL rewrites {table} under an ACCESS EXCLUSIVE lock (no reads "
                "or writes meanwhile); pg_repack does it online\n"
                f"VACUUM (FULL, VERBOSE, ANALYZE) {table};"
            ),
            fix_kind="sql",
            impact=waste,
            confidence="high" if measured else "medium",
        )
