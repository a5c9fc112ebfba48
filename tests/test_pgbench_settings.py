"""Settings files: conf.d and tuner JSON, checked against a real server's pg_settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.bench.pgbench.settings import (
    DEFAULT,
    SettingsFile,
    fetch_catalog,
    in_force,
    load_settings,
    parse_conf,
    validate,
)
from pgtune_hx.db import connect
from pgtune_hx.errors import InvalidInputFile
from tests.helpers.servers import PgTarget

TUNED = Path(__file__).resolve().parent.parent / "benchmarks" / "configs" / "tuned.conf"


def test_conf_syntax() -> None:
    text = (
        "# comment\n"
        "shared_buffers = 6GB   # why\n"
        "work_mem '64MB'\n"
        "search_path = '\"$user\", public'\n"
        "log_line_prefix = 'it''s %m '\n"
        "random_page_cost=1.1\n"
        "WORK_MEM = 32MB\n"
    )
    assert parse_conf(text, "x.conf") == {
        "shared_buffers": "6GB",
        "search_path": '"$user", public',
        "log_line_prefix": "it's %m ",
        "random_page_cost": "1.1",
        "work_mem": "32MB",
    }


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("= 5\n", "x.conf:1: expected 'name = value'"),
        ("work_mem =\n", "x.conf:1: work_mem has no value"),
        ("work_mem = '64MB\n", "x.conf:1: unterminated quoted value"),
        ("work_mem = 64 MB\n", "x.conf:1: unexpected text after the value"),
        ("include 'other.conf'\n", "include is not supported"),
    ],
)
def test_conf_errors(text: str, needle: str) -> None:
    with pytest.raises(InvalidInputFile, match=needle):
        parse_conf(text, "x.conf")


@given(st.text(max_size=200))
def test_conf_parser_never_crashes(text: str) -> None:
    """Property: any text is settings or one clear InvalidInputFile."""
    settings: dict[str, str] | None = None
    error: InvalidInputFile | None = None
    try:
        settings = parse_conf(text, "x.conf")
    except InvalidInputFile as exc:
        error = exc
    if error is not None:
        assert str(error).startswith("x.conf:")
    else:
        assert settings is not None
        assert all(name == name.lower() for name in settings)


def test_tuner_json_both_shapes(tmp_path: Path) -> None:
    items = [
        {"name": "shared_buffers", "recommended": "6GB", "current": "128MB", "why": "25% of RAM"},
        {"name": "random_page_cost", "recommended": 1.1},
        {"name": "jit", "recommended": False},
    ]
    wrapped = tmp_path / "tuner.json"
    wrapped.write_text(json.dumps({"host": {"cpus": 2}, "settings": items}))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(items))
    expected = {"shared_buffers": "6GB", "random_page_cost": "1.1", "jit": "off"}
    assert load_settings(str(wrapped)).settings == expected
    assert load_settings(str(bare)).settings == expected
    assert load_settings(DEFAULT).is_default


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"settings": [{"name": "work_mem"}]}', "needs 'name' and 'recommended'"),
        ('{"settings": {"work_mem": "4MB"}}', "expected a JSON object with a 'settings' list"),
        ('[{"name": "work mem", "recommended": 1}]', "is not a setting name"),
        ('[{"name": "work_mem", "recommended": null}]', "must be a string, number or boolean"),
        ('{"settings": [', "not valid JSON"),
    ],
)
def test_tuner_json_errors(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(InvalidInputFile, match=needle):
        load_settings(str(path))


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputFile, match="does not exist"):
        load_settings(str(tmp_path / "nope.conf"))


def test_validation_against_pg_settings(pg: PgTarget) -> None:
    with connect(pg.admin_dsn) as conn:
        catalog = fetch_catalog(conn)
    good = SettingsFile(
        "good.conf",
        {
            "shared_buffers": "256MB",
            "work_mem": "65536",  # kB, no unit
            "checkpoint_timeout": "15min",
            "random_page_cost": "1.1",
            "synchronous_commit": "off",
            "huge_pages": "try",
            "jit": "of",
            "search_path": '"$user", public',
        },
    )
    validate(good, catalog)
    bad = SettingsFile(
        "bad.conf",
        {
            "shared_bufers": "1GB",
            "work_mem": "lots",
            "maintenance_work_mem": "64 parsecs",
            "max_connections": "0",
            "checkpoint_timeout": "5GB",
            "wal_level": "verbose",
            "fsync": "maybe",
            "block_size": "16384",
        },
    )
    with pytest.raises(InvalidInputFile) as info:
        validate(bad, catalog)
    message = str(info.value)
    assert message.startswith("settings file bad.conf: ")
    assert "unknown setting shared_bufers (did you mean shared_buffers?)" in message
    assert "work_mem = 'lots' expects a number with unit" in message
    assert "unit 'parsecs' is not valid here" in message
    assert "max_connections = '0' is out of range 1..262143" in message
    assert "checkpoint_timeout = '5GB'" in message
    assert "wal_level = 'verbose' expects one of minimal, replica, logical" in message
    assert "fsync = 'maybe' expects on or off" in message
    assert "block_size = '16384' is fixed" in message


def test_committed_tuned_config_is_valid_on_both_versions(pg: PgTarget) -> None:
    with connect(pg.admin_dsn) as conn:
        catalog = fetch_catalog(conn)
    config = load_settings(str(TUNED))
    assert "shared_buffers" in config.settings
    validate(config, catalog)


def test_in_force_compares_in_base_units(pg: PgTarget) -> None:
    with connect(pg.admin_dsn) as conn:
        catalog = fetch_catalog(conn)
    assert in_force("1GB", catalog["shared_buffers"], "131072")
    assert not in_force("1GB", catalog["shared_buffers"], "16384")
    assert in_force("15min", catalog["checkpoint_timeout"], "900")
    assert in_force("yes", catalog["fsync"], "on")
    assert in_force("-1", catalog["wal_buffers"], "512")  # -1: sized by the server
