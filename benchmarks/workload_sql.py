"""Synthetic but realistic statement texts, as pg_stat_statements shows them.

ORM-style SELECTs with many projected columns, joins, IN lists, ORDER BY and
LIMIT; UPDATE/DELETE/INSERT ... ON CONFLICT; CTEs, sub-queries, JSON and LIKE
filters. Deterministic for a seed; every statement is distinct.
"""

from __future__ import annotations

import random

TABLES = ["orders", "customers", "order_items", "products", "events", "sessions", "invoices"]
COLUMNS = [
    "id",
    "customer_id",
    "status",
    "created_at",
    "updated_at",
    "total",
    "email",
    "name",
    "deleted_at",
    "kind",
    "amount",
    "region",
    "payload",
    "tags",
    "score",
]


def _cols(rng: random.Random, alias: str, n: int) -> str:
    picked = rng.sample(COLUMNS, k=min(n, len(COLUMNS)))
    return ", ".join(f"{alias}.{c} AS {alias}_{c}" for c in picked)


def _where(rng: random.Random, alias: str, start: int) -> tuple[str, int]:
    parts = []
    p = start
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        col = rng.choice(COLUMNS)
        if choice < 0.35:
            parts.append(f"{alias}.{col} = ${p}")
            p += 1
        elif choice < 0.5:
            parts.append(f"{alias}.{col} >= ${p} AND {alias}.{col} < ${p + 1}")
            p += 2
        elif choice < 0.6:
            parts.append(f"{alias}.{col} IN (${p}, ${p + 1}, ${p + 2})")
            p += 3
        elif choice < 0.7:
            parts.append(f"{alias}.deleted_at IS NULL")
        elif choice < 0.78:
            parts.append(f"lower({alias}.email) = ${p}")
            p += 1
        elif choice < 0.85:
            parts.append(f"{alias}.payload @> ${p}")
            p += 1
        elif choice < 0.92:
            parts.append(f"({alias}.{col} = ${p} OR {alias}.status = ${p + 1})")
            p += 2
        else:
            parts.append(f"{alias}.payload ->> 'k{rng.randint(0, 9)}' = ${p}")
            p += 1
    return " AND ".join(parts), p


def statement(rng: random.Random, i: int) -> str:
    kind = rng.random()
    t1, t2 = rng.sample(TABLES, 2)
    if kind < 0.55:
        where, p = _where(rng, "a", 1)
        sql = f"SELECT {_cols(rng, 'a', rng.randint(3, 14))} FROM {t1} a"
        if rng.random() < 0.5:
            sql += f" JOIN {t2} b ON b.customer_id = a.id"
            sql = sql.replace(" FROM", f", b.name AS b_name_{i % 97} FROM", 1)
        sql += f" WHERE {where}"
        if rng.random() < 0.6:
            sql += f" ORDER BY a.{rng.choice(COLUMNS)} {rng.choice(['ASC', 'DESC'])}"
        sql += f" LIMIT ${p}" if rng.random() < 0.5 else f" LIMIT {i % 500 + 1}"
        return sql
    if kind < 0.65:
        where, p = _where(rng, t1, 2)
        return f"UPDATE {t1} SET {rng.choice(COLUMNS)} = $1, updated_at = now() WHERE {where}"
    if kind < 0.72:
        where, _ = _where(rng, t1, 1)
        return f"DELETE FROM {t1} WHERE {where} RETURNING id"
    if kind < 0.8:
        cols = rng.sample(COLUMNS[1:], k=rng.randint(2, 8))
        params = ", ".join(f"${n + 1}" for n in range(len(cols)))
        return (
            f"INSERT INTO {t1} (id, {', '.join(cols)}) VALUES (${len(cols) + 1}, {params})"
            f" ON CONFLICT (id) DO UPDATE SET {cols[0]} = excluded.{cols[0]}"
        )
    if kind < 0.9:
        where, p = _where(rng, "x", 1)
        return (
            f"WITH recent AS (SELECT x.id, x.customer_id FROM {t1} x WHERE {where})"
            f" SELECT c.id, c.name, count(*) AS n_{i % 89} FROM recent r"
            f" JOIN customers c ON c.id = r.customer_id GROUP BY c.id, c.name"
            f" ORDER BY n_{i % 89} DESC LIMIT ${p}"
        )
    where, p = _where(rng, "a", 1)
    return (
        f"SELECT a.id, a.status FROM {t1} a WHERE {where} AND EXISTS"
        f" (SELECT 1 FROM {t2} b WHERE b.customer_id = a.id AND b.score > {i % 1000})"
        f" AND a.name LIKE '%{i % 300}%' ORDER BY a.created_at DESC NULLS LAST"
    )


def statements(n: int, seed: int = 42) -> list[str]:
    """``n`` distinct statements."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    i = 0
    while len(out) < n:
        out[statement(rng, i)] = None
        i += 1
    return list(out)
