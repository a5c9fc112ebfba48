"""Running the real pgbench binary: locate it, initialize data, probe, run, parse.

pgbench connects with a conninfo string as its database argument; a password
in the DSN goes to PGPASSWORD instead, so that it never shows in a process
list. pgbench runs with LC_ALL=C, so that its summary is the English one this
module parses. Per-transaction logs go to a private directory and are read
back after the run; its -P progress lines (stderr) feed a callback.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgtune_hx.bench.pgbench.parse import (
    ProgressLine,
    Summary,
    parse_progress_line,
    parse_summary,
    read_log_files,
)
from pgtune_hx.bench.pgbench.scripts import ScriptSpec
from pgtune_hx.bench.pgbench.stats import LogStats, summarize
from pgtune_hx.bench.target import BenchTarget
from pgtune_hx.db.redact import redact
from pgtune_hx.errors import InvalidSQL, MissingCapability, ServerError, UsageError

APPLICATION_NAME = "pgtune_hx_pgbench"
FINISH_GRACE_S = 60.0  # after -T, clients finish their transaction; a hung one is killed
RETRIES_SINCE = 15  # --max-tries and --failures-detailed appeared in pgbench 15

ProgressCallback = Callable[[ProgressLine], None]


@dataclass(frozen=True)
class Pgbench:
    path: Path
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def has_retries(self) -> bool:
        return self.major >= RETRIES_SINCE

    @classmethod
    def locate(cls, target: BenchTarget, override: Path | None = None) -> Pgbench:
        """--pgbench PATH, else the embedded server's, else the one on PATH."""
        if override is not None:
            path = override
        elif target.embedded is not None:
            path = target.embedded.bin("pgbench")
        else:
            found = shutil.which("pgbench")
            if found is None:
                raise MissingCapability(
                    "pgbench is not on PATH", hint="install the PostgreSQL client or pass --pgbench"
                )
            path = Path(found)
        return cls(path, pgbench_version(path))


def pgbench_version(path: Path) -> str:
    """'18.6' from `pgbench --version`."""
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise MissingCapability(f"cannot run pgbench at {path}: {exc.strerror}") from None
    match = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)", result.stdout)
    if result.returncode != 0 or match is None:
        raise MissingCapability(f"{path} is not pgbench: {result.stdout.strip()[:80]!r}")
    return match.group(1)


@dataclass(frozen=True)
class RunSpec:
    scripts: tuple[ScriptSpec, ...]
    clients: int
    duration_s: int
    scale: int
    max_tries: int = 1
    threads: int | None = None  # default: min(clients, CPUs)

    def thread_count(self) -> int:
        return self.threads or max(1, min(self.clients, os.cpu_count() or 1))


@dataclass(frozen=True)
class RunOutcome:
    """One measured run: what pgbench said and what its logs say."""

    started_at: str
    finished_at: str
    wall_s: float
    command: list[str]
    summary: Summary
    log: LogStats
    log_files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "wall_s": round(self.wall_s, 3),
            "command": self.command,
            "pgbench": self.summary.to_dict(),
            "log": self.log.to_dict(),
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class PgbenchRunner:
    """pgbench against one database, with the password out of the argument list."""

    def __init__(self, pgbench: Pgbench, dsn: str) -> None:
        self.pgbench = pgbench
        params = {k: v for k, v in conninfo_to_dict(dsn).items() if v is not None}
        self._password = params.pop("password", None)
        params.setdefault("application_name", APPLICATION_NAME)
        self.conninfo = make_conninfo("", **params)
        self.dbname = str(params.get("dbname", ""))

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env.pop("LANGUAGE", None)
        if self._password is not None:
            env["PGPASSWORD"] = str(self._password)
        return env

    def display(self, args: Sequence[str]) -> list[str]:
        """The command line for results files: no password (it is not in it anyway)."""
        return [redact(a) for a in [self.pgbench.path.name, *args[1:]]]

    # -- initialize and probe --------------------------------------------------

    def initialize(self, scale: int, *, timeout_s: float = 3600) -> float:
        """`pgbench -i -s scale`; returns the seconds it took."""
        args = [str(self.pgbench.path), "-i", "-s", str(scale), "-q", self.conninfo]
        started = time.monotonic()
        result = self._run_quiet(args, timeout_s, "initializing pgbench tables")
        if result.returncode != 0:
            raise ServerError(f"pgbench -i failed: {_first_error(result.stderr)}")
        return time.monotonic() - started

    def probe(self, script: ScriptSpec, *, scale: int) -> None:
        """One transaction of a custom script: an error here is the script's fault."""
        if script.path is None:
            return
        args = [str(self.pgbench.path), "-n", "-t", "1", "-c", "1", "-s", str(scale)]
        args += ["-f", str(script.path), self.conninfo]
        result = self._run_quiet(args, 120, f"probing {script.name}")
        failed = re.search(r"number of failed transactions: ([1-9]\d*)", result.stdout)
        if result.returncode != 0 or failed:
            raise InvalidSQL(
                f"script {script.path} fails on the server: {_first_error(result.stderr)}",
                hint="fixed before any measured run started",
            )

    def _run_quiet(
        self, args: list[str], timeout_s: float, what: str
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=self._env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServerError(f"{what} timed out after {timeout_s:.0f}s") from None

    # -- a measured run ----------------------------------------------------------

    def build_args(self, spec: RunSpec, log_prefix: Path) -> list[str]:
        args = [str(self.pgbench.path)]
        for script in spec.scripts:
            args += script.pgbench_args()
        args += ["-c", str(spec.clients), "-j", str(spec.thread_count())]
        args += ["-T", str(spec.duration_s), "-P", "1"]
        args += ["--log", f"--log-prefix={log_prefix}"]
        if not any(s.builtin for s in spec.scripts):
            args += ["-s", str(spec.scale)]  # sets :scale for custom scripts
        if self.pgbench.has_retries:
            args += ["--failures-detailed", f"--max-tries={spec.max_tries}"]
        elif spec.max_tries != 1:
            raise UsageError(
                f"--max-tries needs pgbench {RETRIES_SINCE} or newer, this one is "
                f"{self.pgbench.version}"
            )
        args.append(self.conninfo)
        return args

    def run(
        self,
        spec: RunSpec,
        *,
        on_progress: ProgressCallback | None = None,
        keep_logs: Path | None = None,
        label: str = "run",
    ) -> RunOutcome:
        with tempfile.TemporaryDirectory(prefix="pgtune_hx-pgbench-") as tmp:
            workdir = Path(tmp)
            prefix = workdir / "pgbench_log"
            args = self.build_args(spec, prefix)
            started_at, started = _now(), time.monotonic()
            stdout, stderr_lines, code = self._stream(args, spec.duration_s, on_progress, workdir)
            wall = time.monotonic() - started
            finished_at = _now()
            if code != 0:
                detail = _first_error("\n".join(stderr_lines))
                raise ServerError(f"pgbench exited with code {code}: {detail}")
            summary = parse_summary(stdout)
            log_files = sorted(workdir.glob("pgbench_log.*"))
            records = read_log_files(
                log_files, has_retries=self.pgbench.has_retries and spec.max_tries != 1
            )
            stats = summarize(records, duration_s=float(spec.duration_s))
            kept: list[Path] = []
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for path in log_files:
                    target = keep_logs / f"{label}.{path.name}"
                    shutil.copyfile(path, target)
                    kept.append(target)
        return RunOutcome(started_at, finished_at, wall, self.display(args), summary, stats, kept)

    def _stream(
        self,
        args: list[str],
        duration_s: int,
        on_progress: ProgressCallback | None,
        workdir: Path,
    ) -> tuple[str, list[str], int]:
        """Run pgbench, feed -P lines to the callback; stop it cleanly on any exception."""
        stdout_path = workdir / "stdout.txt"
        lines: queue.Queue[str | None] = queue.Queue()
        stderr_lines: list[str] = []
        with (
            stdout_path.open("w") as stdout_file,
            subprocess.Popen(
                args,
                stdout=stdout_file,
                stderr=subprocess.PIPE,
                text=True,
                env=self._env(),
                cwd=workdir,
                start_new_session=True,  # Ctrl-C reaches us; we stop pgbench ourselves
            ) as proc,
        ):
            assert proc.stderr is not None
            stderr = proc.stderr

            def pump() -> None:
                for line in stderr:
                    lines.put(line)
                lines.put(None)

            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
            deadline = time.monotonic() + duration_s + FINISH_GRACE_S
            try:
                while True:
                    try:
                        line = lines.get(timeout=0.5)
                    except queue.Empty:
                        if time.monotonic() > deadline:
                            raise ServerError(
                                f"pgbench did not finish {FINISH_GRACE_S:.0f}s after its "
                                f"{duration_s}s run (a transaction waiting on a lock?)"
                            ) from None
                        continue
                    if line is None:
                        break
                    progress = parse_progress_line(line)
                    if progress is None:
                        stderr_lines.append(line.rstrip("\n"))
                    elif on_progress is not None:
                        on_progress(progress)
                code = proc.wait(timeout=FINISH_GRACE_S)
            except BaseException:
                _stop(proc)
                raise
            finally:
                reader.join(timeout=10)
        return stdout_path.read_text(), stderr_lines, code


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGINT first (pgbench cancels its queries), then kill."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _first_error(stderr: str) -> str:
    """The first line that says what went wrong, password-free."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower() or "fatal" in line.lower():
            return redact(line.removeprefix("pgbench: "))
    return redact(lines[-1]) if lines else "no error message"
