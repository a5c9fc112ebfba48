"""A sample of the user's own vectors, read with a read-only session.

Rows are drawn with TABLESAMPLE BERNOULLI ... REPEATABLE(seed), so the same
seed gives the same sample while the table is unchanged. The sample is split:
``rows`` are indexed in the scratch schema, and 2 x ``queries`` are held
out (never indexed) as the tuning and holdout query sets.
"""

from __future__ import annotations

import numpy as np
from psycopg import sql

from pgtune_hx.bench.vector.datasets import Dataset, check_sizes, split_rows
from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.pgtypes import register_vector
from pgtune_hx.bench.vector.spec import DatasetSpec
from pgtune_hx.db import Connection, translated
from pgtune_hx.errors import UsageError

OVERSAMPLE = 1.25  # BERNOULLI returns about, not exactly, the share asked for


def column_type(conn: Connection, spec: DatasetSpec) -> str | None:
    with translated("looking up the vector column"):
        row = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) AS type, t.typname"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s"
            " AND a.attnum > 0 AND NOT a.attisdropped",
            [spec.schema, spec.table, spec.column],
        ).fetchone()
    if row is None:
        return None
    if row["typname"] != "vector":
        raise UsageError(f"column {spec} is {row['type']}, the benchmark reads vector columns only")
    return str(row["type"])


def sample_table(
    conn: Connection, spec: DatasetSpec, *, rows: int, queries: int, seed: int, metric: Metric
) -> Dataset:
    if column_type(conn, spec) is None:
        raise UsageError(f"no column {spec.column} in table {spec.schema}.{spec.table}")
    assert spec.schema and spec.table and spec.column
    table = sql.SQL(".").join([sql.Identifier(spec.schema), sql.Identifier(spec.table)])
    column = sql.Identifier(spec.column)
    with translated(f"counting rows of {spec.schema}.{spec.table}"):
        total_row = conn.execute(
            sql.SQL("SELECT count(*) AS n FROM {} WHERE {} IS NOT NULL").format(table, column)
        ).fetchone()
    total = int(total_row["n"]) if total_row else 0
    wanted = rows + 2 * queries
    percent = min(100.0, 100.0 * wanted * OVERSAMPLE / max(1, total))
    register_vector(conn)
    with translated(f"sampling {spec.schema}.{spec.table}"):
        cur = conn.cursor()
        cur.execute(
            sql.SQL(
                "SELECT {col} AS v FROM {tbl} TABLESAMPLE BERNOULLI (%s) REPEATABLE (%s)"
                " WHERE {col} IS NOT NULL LIMIT %s"
            ).format(col=column, tbl=table),
            [percent, seed, wanted],
            binary=True,
        )
        vectors = [r["v"] for r in cur.fetchall()]
    if len({len(v) for v in vectors}) > 1:
        raise UsageError(f"column {spec} mixes vector dimensions; index one dimension at a time")
    if len(vectors) <= 2 * queries:
        raise UsageError(f"{spec} gave {len(vectors)} vectors, too few for 2 x {queries} queries")
    data = np.vstack(vectors).astype(np.float32)
    check_sizes(len(data) - 2 * queries, data.shape[1], queries)
    train, tuning, holdout = split_rows(data, rows, queries, seed=seed)
    return Dataset(
        name=str(spec),
        train=train,
        queries=tuning,
        holdout=holdout,
        metric=metric,
        source_rows=total,
        details={"seed": seed, "sample_percent": percent, "table_rows": total},
    )
