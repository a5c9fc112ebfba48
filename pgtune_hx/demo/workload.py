"""The demo's mixed workload: planned once from a seed, replayed exactly.

``plan_workload`` draws the whole list of operations (statement and parameter
values) up front from a seeded generator; ``run_workload`` replays a plan with a
fixed number of client connections, each taking every n-th operation in order.
Running the same plan twice therefore sends the same statements with the same
values in the same order through the same number of sessions: the before and
after numbers measure the same work.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgtune_hx.db import Guard, connect
from pgtune_hx.demo.blocks import Block, load_blocks
from pgtune_hx.demo.schema import Scale

APP_NAME = "pgtune_demo-app"
VECTOR_DIM = 384
# Relative frequency of each statement: many cheap lookups and writes, a few
# dashboards and reports, as a gateway in front of LLM providers sees them.
WEIGHTS: dict[str, float] = {
    "gateway.key_lookup": 20,
    "gateway.charge_budget": 14,
    "gateway.log_usage": 14,
    "gateway.key_recent_usage": 3,
    "gateway.team_spend_by_model": 2,
    "gateway.recent_errors": 1,
    "gateway.top_keys_today": 0.5,
    "gateway.monthly_invoice": 0.1,
    "workflow.executions_by_status": 4,
    "workflow.execution_by_trace": 3,
    "workflow.finish_execution": 5,
    "sessions.get_session": 15,
    "sessions.touch_session": 10,
    "sessions.user_sessions": 3,
    "rag.document_chunks": 4,
    "rag.nearest_chunks": 2,
}
# Keys whose id is a multiple of this are revoked (schema.sql) and never charged;
# the demo's idle transaction holds the budget row of one of them.
REVOKED_EVERY = 20
HELD_KEY_ID = REVOKED_EVERY

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class Operation:
    query: str
    params: dict[str, Any]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class _Draw:
    """Parameter values drawn with the same skew as the data (schema.sql)."""

    def __init__(self, scale: Scale, rng: random.Random) -> None:
        self.scale = scale
        self.rng = rng

    def key_id(self) -> int:
        return 1 + int(self.scale.keys * self.rng.random() ** 4)

    def active_key_id(self) -> int:
        key = self.key_id()
        return key - 1 if key % REVOKED_EVERY == 0 else key

    def team_id(self) -> int:
        return 1 + (self.key_id() * 7919) % self.scale.teams

    def session_id(self) -> uuid.UUID:
        return uuid.UUID(hex=_md5(f"session-{self.rng.randint(1, self.scale.sessions)}"))

    def params(self, query: str) -> dict[str, Any]:
        rng, scale = self.rng, self.scale
        if query == "gateway.key_recent_usage":
            return {"key_id": self.key_id()}
        if query == "gateway.team_spend_by_model":
            return {"team_id": self.team_id()}
        if query == "gateway.key_lookup":
            return {"key_hash": _md5(f"key-{self.key_id()}")}
        if query == "gateway.charge_budget":
            return {"key_id": self.active_key_id(), "cost": round(rng.uniform(0.0001, 0.05), 6)}
        if query == "gateway.log_usage":
            key = self.active_key_id()
            return {
                "request_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "key_id": key,
                "team_id": 1 + (key * 7919) % scale.teams,
                "tokens": rng.randint(50, 4000),
                "cost": round(rng.uniform(0.0001, 0.05), 6),
            }
        if query == "workflow.executions_by_status":
            return {
                "workflow_id": 1 + int(scale.workflows * rng.random() ** 2),
                "status": rng.choice(["failed", "running", "succeeded"]),
            }
        if query == "workflow.execution_by_trace":
            return {"trace_id": _md5(f"trace-{rng.randint(1, scale.executions)}")}
        if query == "workflow.finish_execution":
            return {"execution_id": rng.randint(1, scale.executions)}
        if query in ("sessions.get_session", "sessions.touch_session"):
            return {"session_id": self.session_id()}
        if query == "sessions.user_sessions":
            return {"user_id": rng.randint(1, scale.sessions // 3 + 1)}
        if query == "rag.document_chunks":
            return {"document_id": rng.randint(1, scale.documents)}
        if query == "rag.nearest_chunks":
            values = ",".join(f"{rng.random():.4f}" for _ in range(VECTOR_DIM))
            return {"embedding": f"[{values}]"}
        return {}


def workload_queries(capabilities: set[str]) -> dict[str, Block]:
    return {b.name: b for b in load_blocks("workload.sql") if b.applies(capabilities)}


def plan_workload(
    scale: Scale, operations: int, capabilities: set[str], seed: int = 7
) -> list[Operation]:
    """The whole workload, drawn up front; the same arguments give the same plan."""
    queries = workload_queries(capabilities)
    names = [n for n in WEIGHTS if n in queries]
    weights = [WEIGHTS[n] for n in names]
    rng = random.Random(seed)
    draw = _Draw(scale, rng)
    chosen = rng.choices(names, weights=weights, k=operations)
    return [Operation(name, draw.params(name)) for name in chosen]


@dataclass
class QueryTiming:
    """Client-side latencies of one statement over a run, in milliseconds."""

    query: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def calls(self) -> int:
        return len(self.latencies_ms)

    @property
    def total_ms(self) -> float:
        return sum(self.latencies_ms)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0

    def percentile_ms(self, pct: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[min(98, max(0, round(pct) - 1))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "calls": self.calls,
            "errors": self.errors,
            "total_ms": round(self.total_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "p50_ms": round(self.percentile_ms(50), 3),
            "p95_ms": round(self.percentile_ms(95), 3),
            "max_ms": round(max(self.latencies_ms, default=0.0), 3),
            "first_error": self.first_error,
        }


@dataclass
class WorkloadResult:
    label: str
    clients: int
    operations: int
    wall_s: float
    timings: dict[str, QueryTiming]

    @property
    def errors(self) -> int:
        return sum(t.errors for t in self.timings.values())

    @property
    def busy_ms(self) -> float:
        """Sum of all statement latencies (time the clients spent waiting on the server)."""
        return sum(t.total_ms for t in self.timings.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "clients": self.clients,
            "operations": self.operations,
            "wall_s": round(self.wall_s, 3),
            "busy_ms": round(self.busy_ms, 3),
            "errors": self.errors,
            "queries": [self.timings[name].to_dict() for name in sorted(self.timings)],
        }


def _client(
    dsn: str,
    ops: list[Operation],
    sql_of: dict[str, bytes],
    timings: dict[str, QueryTiming],
    done: list[int],
    failure: list[BaseException],
) -> None:
    guard = Guard(
        read_only=False,
        statement_timeout_ms=120_000,
        lock_timeout_ms=10_000,
        application_name=APP_NAME,
    )
    try:
        with connect(dsn, guard) as conn:
            for op in ops:
                timing = timings[op.query]
                started = time.perf_counter()
                try:
                    cur = conn.execute(sql_of[op.query], op.params)
                    if cur.description is not None:
                        cur.fetchall()
                except psycopg.Error as exc:
                    timing.errors += 1
                    timing.first_error = timing.first_error or str(exc).splitlines()[0]
                else:
                    timing.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                done[0] += 1
    except BaseException as exc:  # reported by run_workload in the caller's thread
        failure.append(exc)


def run_workload(
    dsn: str,
    plan: list[Operation],
    capabilities: set[str],
    *,
    clients: int = 2,
    label: str = "workload",
    progress: ProgressCallback | None = None,
) -> WorkloadResult:
    """Replay ``plan`` over ``clients`` sessions; client i runs operations i, i+n, ..."""
    queries = workload_queries(capabilities)
    sql_of = {name: block.statements()[0].encode() for name, block in queries.items()}
    names = sorted({op.query for op in plan})
    per_client = [{name: QueryTiming(name) for name in names} for _ in range(clients)]
    counters = [[0] for _ in range(clients)]
    failure: list[BaseException] = []
    threads = [
        threading.Thread(
            target=_client,
            args=(dsn, plan[i::clients], sql_of, per_client[i], counters[i], failure),
            name=f"demo-client-{i}",
            daemon=True,
        )
        for i in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    reported = 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
        now_done = sum(c[0] for c in counters)
        if progress is not None and now_done > reported:
            progress(now_done - reported)
            reported = now_done
    wall = time.perf_counter() - started
    if failure:
        raise failure[0]
    if progress is not None:
        progress(sum(c[0] for c in counters) - reported)
    merged = {name: QueryTiming(name) for name in names}
    for timings in per_client:
        for name, timing in timings.items():
            merged[name].latencies_ms.extend(timing.latencies_ms)
            merged[name].errors += timing.errors
            merged[name].first_error = merged[name].first_error or timing.first_error
    return WorkloadResult(label, clients, len(plan), wall, merged)
