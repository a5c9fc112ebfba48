"""`pgtune-hx tune` offline: formats, stable JSON fields, and one-line errors."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pgtune_hx.cli.main import run
from pgtune_hx.errors import UsageError


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]
# the module, not the function pgtune_hx.db re-exports under the same name
redact_module = importlib.import_module("pgtune_hx.db.redact")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run the CLI in this process (as the entry point does) and capture its output."""
    monkeypatch.setenv("COLUMNS", "200")
    # secrets other tests registered (hypothesis draws "null", say) are not ours to mask
    monkeypatch.setattr(redact_module, "_secrets", set())
    for name in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> Result:
        with pytest.raises(SystemExit) as info:
            run(list(args))
        captured = capsys.readouterr()
        code = info.value.code
        return Result(code if isinstance(code, int) else 1, captured.out, captured.err)

    return invoke


HW = ("tune", "--memory", "64GB", "--cpus", "16", "--storage", "ssd", "--workload", "oltp")


def test_json_has_the_documented_fields(cli: Cli) -> None:
    result = cli(*HW, "--pg-version", "15", "-f", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["format"] == "pgtune_hx.tune" and payload["format_version"] == 1
    for setting in payload["settings"]:
        assert {"name", "current", "recommended", "unit", "restart", "reason"} <= set(setting)
    by_name = {s["name"]: s for s in payload["settings"]}
    assert by_name["shared_buffers"]["recommended"] == "16GB"
    assert by_name["shared_buffers"]["restart"] is True
    assert by_name["shared_buffers"]["unit"] == "8kB"
    assert by_name["work_mem"]["recommended"] == "64MB"
    assert payload["budget"]["holds"] is True
    assert payload["budget"]["total_bytes"] <= payload["budget"]["limit_bytes"]
    assert "io_workers" not in by_name  # PG 18 only
    assert payload["inputs"]["sources"]["memory"] == "flag"


def test_conf_and_alter_system_formats(cli: Cli) -> None:
    conf = cli(*HW, "-f", "conf")
    assert conf.returncode == 0, conf.stderr
    assert "shared_buffers = '16GB'" in conf.stdout
    assert "max_connections = '300'" in conf.stdout
    assert conf.stdout.lstrip().startswith("# pgtune_hx recommendation")
    alter = cli(*HW, "-f", "alter-system")
    assert alter.returncode == 0, alter.stderr
    assert """ALTER SYSTEM SET "shared_buffers" = '16GB';  -- needs a restart""" in alter.stdout
    assert alter.stdout.rstrip().endswith("SELECT pg_reload_conf();")


def test_diff_shows_budget_and_reasons(cli: Cli) -> None:
    result = cli(*HW)
    assert result.returncode == 0, result.stderr
    assert "memory budget" in result.stdout and "holds" in result.stdout
    assert "shared_buffers" in result.stdout and "RAM x profile share" in result.stdout
    assert "needs a restart" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("tune",), "--memory, --cpus, --storage"),
        (("tune", "--memory", "64GB"), "--cpus, --storage"),
        (("tune", "--memory", "64XB", "--cpus", "4", "--storage", "ssd"), "unknown unit"),
        (("tune", "--memory", "100MB", "--cpus", "4", "--storage", "ssd"), "below"),
        (
            (
                "tune",
                "--memory",
                "1GB",
                "--cpus",
                "4",
                "--storage",
                "ssd",
                "--max-connections",
                "5000",
            ),
            "does not fit",
        ),
        (("tune", "--memory", "8GB", "--cpus", "4", "--storage", "ssd", "--apply"), "--apply"),
        (
            ("tune", "--memory", "8GB", "--cpus", "4", "--storage", "ssd", "--pg-version", "12"),
            "not supported",
        ),
        (
            ("tune", "--memory", "8GB", "--cpus", "4", "--storage", "ssd", "--db-size", "lots"),
            "--db-size",
        ),
    ],
)
def test_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], needle: str) -> None:
    result = cli(*args)
    assert result.returncode == UsageError.exit_code, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and needle in lines[0]
    assert "Traceback" not in result.stderr
