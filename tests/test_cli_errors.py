"""Bad connections end in one clear line and a distinct exit code, never a secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pgtune_hx.embedded import EmbeddedServer
from pgtune_hx.errors import AuthenticationFailed, ConnectionFailed, DatabaseNotFound, UsageError

SECRET = "s3cr3t-Pa55word-xyz"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pgtune_hx", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert result.returncode == code, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_refused_connection() -> None:
    result = cli("--dsn", f"host=127.0.0.1 port=1 password={SECRET}", "server-info")
    assert_one_line_error(result, ConnectionFailed.exit_code, "Connection refused")
    assert SECRET not in result.stdout + result.stderr


def test_unreachable_host_times_out_quickly() -> None:
    # a TEST-NET address inside our own sandbox is never routed: connect_timeout answers
    result = cli("--dsn", "host=127.0.0.1 port=1 connect_timeout=2", "server-info")
    assert result.returncode == ConnectionFailed.exit_code


def test_wrong_password(pg18_server: EmbeddedServer) -> None:
    dsn = pg18_server.tcp_dsn(with_password=False) + f" password={SECRET}"
    result = cli("--debug", "--dsn", dsn, "server-info")
    assert_one_line_error(result, AuthenticationFailed.exit_code, "password authentication failed")
    assert SECRET not in result.stdout + result.stderr


def test_wrong_password_in_uri(pg18_server: EmbeddedServer) -> None:
    port = pg18_server.status().port
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/postgres"
    result = cli("--dsn", dsn, "server-info")
    assert result.returncode == AuthenticationFailed.exit_code
    assert SECRET not in result.stdout + result.stderr


def test_missing_database(pg18_server: EmbeddedServer) -> None:
    result = cli("--dsn", pg18_server.url("no_such_db"), "server-info")
    assert_one_line_error(
        result, DatabaseNotFound.exit_code, 'database "no_such_db" does not exist'
    )


def test_invalid_dsn() -> None:
    result = cli("--dsn", "bogus_option=1", "server-info")
    assert_one_line_error(result, UsageError.exit_code, "invalid DSN")


def test_password_never_printed_on_success(pg18_server: EmbeddedServer) -> None:
    """Debug logging on, JSON and text output: the real password appears nowhere."""
    dsn = pg18_server.tcp_dsn()
    password = pg18_server.password
    for fmt in ("text", "json"):
        result = cli("--debug", "--dsn", dsn, "server-info", "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert "postgres" in result.stdout
        assert password not in result.stdout + result.stderr
        assert "password=****" in result.stderr  # the debug log names the DSN, masked


def test_pgpassword_environment_is_redacted(pg18_server: EmbeddedServer) -> None:
    env = {"PGPASSWORD": pg18_server.password}
    result = cli(
        "--debug", "--dsn", pg18_server.tcp_dsn(with_password=False), "server-info", env=env
    )
    assert result.returncode == 0, result.stderr
    assert pg18_server.password not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["server-info", "--format", "yaml"], ["no-such-command"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
