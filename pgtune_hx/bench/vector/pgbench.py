"""Throughput at a concurrency level, measured by pgbench with a custom script.

Each transaction picks a random held-out query vector from the scratch
``queries`` table and runs the same k-NN query as the sweep; the vector
comes from an InitPlan (a primary-key lookup, a few microseconds) so no
client has to ship vectors. Per-transaction logs (``-l``) give latency
percentiles under load; the search setting travels in PGOPTIONS.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from psycopg.conninfo import conninfo_to_dict

from pgtune_hx.bench.vector.metric import Metric
from pgtune_hx.bench.vector.scratch import Scratch
from pgtune_hx.bench.vector.stats import percentiles_ms
from pgtune_hx.errors import ServerError

# libpq connection keywords and the environment variables that carry them
ENV_FOR = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "service": "PGSERVICE",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    seconds: float
    tps: float
    transactions: int
    failed: int
    latency: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "qps": self.tps,
            "transactions": self.transactions,
            "failed": self.failed,
            "latency": self.latency,
        }


def script(scratch: Scratch, metric: Metric, k: int, queries: int, table: str = "items") -> str:
    """The pgbench script. A script file cannot take bind parameters; the
    names in it are ours (a hex schema name), quoted anyway, and k an int."""
    items = f'"{scratch.schema}"."{table}"'
    qtable = f'"{scratch.schema}"."queries"'
    lines = [
        f"\\set q random(0, {queries - 1})",
        f"SELECT id FROM {items} ORDER BY embedding {metric.operator}",  # noqa: S608
        f"(SELECT embedding FROM {qtable} WHERE qid = :q) LIMIT {int(k)};",  # noqa: S608
    ]
    return "\n".join(lines) + "\n"


def environment(dsn: str, settings: dict[str, str], search_path: str) -> dict[str, str]:
    """The DSN as PG* variables (no password on a command line), plus the
    session settings as -c options."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    params = conninfo_to_dict(dsn)
    for key, value in params.items():
        if key in ENV_FOR and value is not None:
            env[ENV_FOR[key]] = str(value)
    options = [env.get("PGOPTIONS", ""), f"-c search_path={search_path}"]
    options += [f"-c {name}={value}" for name, value in settings.items()]
    env["PGOPTIONS"] = " ".join(o for o in options if o)
    return env


def run_pgbench(
    pgbench: Path,
    dsn: str,
    script_text: str,
    *,
    clients: int,
    seconds: int,
    settings: dict[str, str],
    search_path: str,
) -> PgbenchResult:
    threads = max(1, min(clients, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="pgtune_hx-pgbench-") as tmp:
        script_path = Path(tmp) / "knn.sql"
        script_path.write_text(script_text)
        cmd = [
            str(pgbench),
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            "-f",
            str(script_path),
            "-l",
            "--log-prefix",
            str(Path(tmp) / "tx"),
        ]
        proc = subprocess.run(
            cmd,
            env=environment(dsn, settings, search_path),
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=seconds + 120,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServerError(f"pgbench failed (exit {proc.returncode}): {last}")
        latencies = read_logs(Path(tmp))
    match = TPS.search(proc.stdout)
    if not match:
        raise ServerError("pgbench printed no tps line")
    failed = FAILED.search(proc.stdout)
    return PgbenchResult(
        clients=clients,
        seconds=float(seconds),
        tps=float(match.group(1)),
        transactions=len(latencies),
        failed=int(failed.group(1)) if failed else 0,
        latency=percentiles_ms(latencies * 1000),
    )


def read_logs(directory: Path) -> np.ndarray:
    """Latencies in microseconds from pgbench's per-transaction logs:
    client_id transaction_no time_us script_no time_epoch time_us_part."""
    values: list[int] = []
    for path in sorted(directory.glob("tx.*")):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                values.append(int(fields[2]))
    return np.asarray(values, dtype=np.int64)
