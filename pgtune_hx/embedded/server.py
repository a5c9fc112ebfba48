"""Lifecycle of a local PostgreSQL server: init, start, stop, status.

Layout of a server's base directory:

    base/data        PGDATA
    base/run         Unix socket directory (its own, so nothing else collides)
    base/server.log  server log (pg_ctl -l)
    base/password    generated password of the postgres role for TCP (0600)
    base/port        the TCP port last used, reused on the next start

The server always listens on the socket (trust, private to the socket dir's
owner) and on 127.0.0.1 at a free port (scram-sha-256). Settings that tests and
ALTER SYSTEM may change live in data/pgtune_hx.conf, included from
postgresql.conf, never on the command line (that would override ALTER SYSTEM).

When the caller is root, the server runs as the unprivileged OS user
``pgtune_hx`` (created if missing), because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import platformdirs
import psutil

from pgtune_hx.db.redact import register_secret
from pgtune_hx.embedded.binaries import Binaries, copy_for_user, wheel_bin_dir
from pgtune_hx.errors import ServerError, UsageError

log = logging.getLogger(__name__)

SERVER_OS_USER = "pgtune_hx"
SUPERUSER = "postgres"
ROOT_BASE = Path("/var/lib/pgtune_hx")

BASE_SETTINGS: dict[str, str] = {
    "shared_preload_libraries": "'pg_stat_statements,auto_explain'",
    "track_io_timing": "on",
    "compute_query_id": "on",
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track": "top",
    "auto_explain.log_min_duration": "'10s'",
    "auto_explain.log_format": "json",
    "max_connections": "300",
    "track_activity_query_size": "4096",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}


def default_base_dir() -> Path:
    if os.geteuid() == 0:
        return ROOT_BASE / "server"
    return Path(platformdirs.user_data_dir("pgtune_hx")) / "server"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> None:
    """pg_ctl returns once postmaster.pid is gone; wait for the process itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    base_dir: Path
    data_dir: Path
    bin_dir: Path
    version: str
    pid: int | None = None
    port: int | None = None
    socket_dir: Path | None = None
    already_running: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "base_dir": str(self.base_dir),
            "data_dir": str(self.data_dir),
            "bin_dir": str(self.bin_dir),
            "version": self.version,
            "pid": self.pid,
            "port": self.port,
            "socket_dir": str(self.socket_dir) if self.socket_dir else None,
        }


class EmbeddedServer:
    """A local PostgreSQL server under one base directory."""

    def __init__(
        self,
        base_dir: Path | None = None,
        bin_dir: Path | None = None,
        *,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.base_dir = (base_dir or default_base_dir()).expanduser().absolute()
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "run"
        self.log_file = self.base_dir / "server.log"
        self.password_file = self.base_dir / "password"
        self.port_file = self.base_dir / "port"
        self._requested_bin = bin_dir
        self._bin: Binaries | None = None
        self.settings = {**BASE_SETTINGS, **(settings or {})}
        self.as_root = os.geteuid() == 0

    # -- binaries and OS user -------------------------------------------------

    @property
    def binaries(self) -> Binaries:
        if self._bin is None:
            bin_dir = self._requested_bin or wheel_bin_dir()
            if not (bin_dir / "postgres").exists():
                raise UsageError(f"no postgres binary in {bin_dir}")
            if self.as_root and not self._user_can_run(bin_dir):
                bin_dir = copy_for_user(bin_dir, ROOT_BASE / "pginstall")
            self._bin = Binaries(bin_dir)
        return self._bin

    def _os_user(self) -> pwd.struct_passwd | None:
        if not self.as_root:
            return None
        try:
            return pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVER_OS_USER,
                ],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(SERVER_OS_USER)

    def _user_can_run(self, bin_dir: Path) -> bool:
        try:
            self._run([str(bin_dir / "postgres"), "--version"], timeout=30)
        except (ServerError, OSError):
            return False
        return True

    def _run(
        self, args: Sequence[str], *, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program, as the unprivileged OS user when we are root."""
        user = self._os_user()
        uid = gid = None
        groups: list[int] | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if user is not None:
            uid, gid, groups = user.pw_uid, user.pw_gid, []
            env["HOME"] = str(self.base_dir)
        try:
            result = subprocess.run(
                list(args),
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=str(self.base_dir) if self.base_dir.exists() else "/",
                check=False,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        except subprocess.TimeoutExpired:
            raise ServerError(f"{Path(args[0]).name} timed out after {timeout:.0f}s") from None
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            tail = detail[-1] if detail else f"exit code {result.returncode}"
            raise ServerError(f"{Path(args[0]).name} failed: {tail}")
        return result

    def _chown(self, path: Path) -> None:
        user = self._os_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    # -- init -------------------------------------------------------------------

    @property
    def password(self) -> str:
        value = self.password_file.read_text().strip()
        register_secret(value)
        return value

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initialize(self) -> None:
        """initdb with local trust and scram on TCP; idempotent."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.base_dir)
        self.socket_dir.mkdir(exist_ok=True)
        self.socket_dir.chmod(0o700)
        self._chown(self.socket_dir)
        if self.initialized():
            self._write_conf()
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ServerError(f"{self.data_dir} exists, is not empty and holds no PG_VERSION")
        password = secrets.token_urlsafe(24)
        register_secret(password)
        fd, pwfile_name = tempfile.mkstemp(dir=self.base_dir, prefix=".pw")
        pwfile = Path(pwfile_name)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            self._chown(pwfile)
            self._run(
                [
                    str(self.binaries.path("initdb")),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                timeout=300,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        old = os.umask(0o077)
        try:
            self.password_file.write_text(password + "\n")
        finally:
            os.umask(old)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# added by pgtune_hx\ninclude_if_exists = 'pgtune_hx.conf'\n")
        self._write_conf()

    def _write_conf(self) -> None:
        lines = ["# written by pgtune_hx at each start; edit with ALTER SYSTEM instead"]
        lines += [f"{key} = {value}" for key, value in self.settings.items()]
        conf = self.data_dir / "pgtune_hx.conf"
        conf.write_text("\n".join(lines) + "\n")
        self._chown(conf)

    # -- status, start, stop -------------------------------------------------------

    def _postmaster(self) -> tuple[int, int | None, Path | None] | None:
        """pid, port and socket dir of a live postmaster, from postmaster.pid."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        sock = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
        return pid, port, sock

    def status(self) -> ServerStatus:
        live = self._postmaster()
        version = self.binaries.version()
        if live is None:
            return ServerStatus(False, self.base_dir, self.data_dir, self.binaries.bin_dir, version)
        pid, port, sock = live
        return ServerStatus(
            True, self.base_dir, self.data_dir, self.binaries.bin_dir, version, pid, port, sock
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with (self.base_dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _choose_port(self) -> int:
        try:
            previous = int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            previous = 0
        if previous and _port_free(previous):
            return previous
        return free_port()

    def start(self, *, timeout: float = 120) -> ServerStatus:
        """Start the server, or report the one already running."""
        with self._locked():
            current = self.status()
            if current.running:
                return ServerStatus(**{**current.__dict__, "already_running": True})
            self.initialize()
            port = self._choose_port()
            self.port_file.write_text(f"{port}\n")
            if self.log_file.exists() and self.as_root:
                self._chown(self.log_file)
            options = f"-p {port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            try:
                self._run(
                    [
                        str(self.binaries.path("pg_ctl")),
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_file),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        str(int(timeout)),
                        "start",
                    ],
                    timeout=timeout + 10,
                )
            except ServerError as exc:
                raise ServerError(
                    f"{exc.message}; see {self.log_file}: {self._log_tail()}"
                ) from None
            return self.status()

    def stop(self, *, mode: str = "fast", timeout: float = 60) -> bool:
        """Stop the server; True when one was running."""
        with self._locked():
            live = self._postmaster()
            if live is None:
                return False
            self._run(
                [
                    str(self.binaries.path("pg_ctl")),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "stop",
                ],
                timeout=timeout + 10,
            )
            _wait_gone(live[0], timeout)
            return True

    def restart(self) -> ServerStatus:
        self.stop()
        return self.start()

    def destroy(self) -> None:
        """Stop and delete the whole base directory."""
        self.stop(mode="immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except (FileNotFoundError, PermissionError):
            return "no log"
        return " | ".join(text[-lines:])

    # -- connection strings --------------------------------------------------------

    def _port(self) -> int:
        live = self._postmaster()
        if live is None or live[1] is None:
            raise ServerError(
                f"the server in {self.base_dir} is not running", hint="pgtune-hx server start"
            )
        return live[1]

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """Unix-socket conninfo: no password needed, nothing secret inside."""
        return f"host={self.socket_dir} port={self._port()} user={user} dbname={dbname}"

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{user}@/{dbname}?host={host}&port={self._port()}"

    def tcp_dsn(self, dbname: str = "postgres", *, with_password: bool = True) -> str:
        """127.0.0.1 conninfo; the password is registered for redaction."""
        dsn = f"host=127.0.0.1 port={self._port()} user={SUPERUSER} dbname={dbname}"
        if with_password:
            dsn += f" password={self.password}"
        return dsn

    def bin(self, name: str) -> Path:
        return self.binaries.path(name)


@contextlib.contextmanager
def embedded_server(
    base_dir: Path | None = None,
    bin_dir: Path | None = None,
    *,
    keep: bool = True,
    settings: dict[str, str] | None = None,
) -> Iterator[EmbeddedServer]:
    """Start (or reuse) a server for the block.

    With ``keep`` (the default for a named base dir) a server that was already
    running is left running; a throwaway server (no base dir) is destroyed.
    """
    temporary = base_dir is None
    if temporary:
        base_dir = Path(tempfile.mkdtemp(prefix="pgtune_hx-"))
        base_dir.chmod(0o755)
    server = EmbeddedServer(base_dir, bin_dir, settings=settings)
    started = not server.start().already_running
    try:
        yield server
    finally:
        if temporary:
            server.destroy()
        elif started and not keep:
            server.stop()
