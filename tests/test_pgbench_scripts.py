"""Workload scripts are checked before any run: files, meta-commands, variables, SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgtune_hx.bench.pgbench.scripts import (
    builtin_spec,
    check_script_file,
    check_script_text,
    check_weights,
    file_spec,
    split_weight,
)
from pgtune_hx.errors import InvalidInputFile, InvalidSQL, UsageError

WORKLOADS = Path(__file__).resolve().parent.parent / "benchmarks" / "workloads"


def write(tmp_path: Path, text: str, name: str = "w.sql") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_builtins_and_weights() -> None:
    assert builtin_spec("tpcb").pgbench_args() == ["-b", "tpcb-like@1"]
    assert builtin_spec("select-only@3").pgbench_args() == ["-b", "select-only@3"]
    with pytest.raises(UsageError, match="unknown builtin script 'tpcc'"):
        builtin_spec("tpcc")
    with pytest.raises(UsageError, match="non-negative integer"):
        split_weight("x.sql@-1")
    with pytest.raises(UsageError, match="all script weights are 0"):
        check_weights([builtin_spec("tpcb@0")])


def test_file_spec_finds_its_setup_and_describes_itself(tmp_path: Path) -> None:
    script = write(tmp_path, "\\set id random(1, 10)\nselect :id;\n", "q.sql")
    write(tmp_path, "create table t (id int);\n", "q.setup.sql")
    spec = file_spec(f"{script}@2")
    assert spec.weight == 2
    assert spec.setup == tmp_path / "q.setup.sql"
    described = spec.describe()
    assert described["name"] == "q.sql"
    assert isinstance(described["sha256"], str)
    assert len(described["sha256"]) == 64
    assert spec.pgbench_args() == ["-f", f"{script}@2"]


@pytest.mark.parametrize(
    ("text", "error", "needle"),
    [
        ("", InvalidInputFile, "is empty"),
        ("-- only a comment\n", InvalidInputFile, "is empty"),
        ("\\sett x 1\nselect 1;", InvalidInputFile, ":1: unknown meta-command \\sett"),
        ("\\set x\nselect 1;", InvalidInputFile, ":1: \\set needs a variable name"),
        ("\\set x random(1, 10\nselect :x;", InvalidInputFile, "unbalanced parentheses"),
        ("\\set x rand(1, 10)\nselect :x;", InvalidInputFile, "unknown function rand()"),
        ("\\sleep 10 hours\n", InvalidInputFile, "unit 'hours'"),
        ("\\sleep soon\n", InvalidInputFile, "not an integer"),
        ("\\if :scale > 1\nselect 1;\n", InvalidInputFile, ":1: \\if without \\endif"),
        ("select 1;\n\\endif\n", InvalidInputFile, ":2: \\endif without a matching \\if"),
        ("\\if 1\n\\else\n\\else\n\\endif\n", InvalidInputFile, ":3: \\else without"),
        ("\\set a 1\nselect :a, :b;\n", InvalidInputFile, ":2: variable :b is used but never set"),
        ("\\set a 1\n\nselect :a\n  fro t;\n", InvalidSQL, ':4: syntax error at or near "t"'),
        ("\\gset\n", InvalidInputFile, "\\gset must end a query"),
    ],
)
def test_invalid_scripts(text: str, error: type[Exception], needle: str) -> None:
    with pytest.raises(error) as info:
        check_script_text(text, "w.sql")
    assert needle in str(info.value)


def test_valid_script_features() -> None:
    text = (
        "\\set aid random(1, 100000 * :scale)\n"
        "\\set delta random(-5000, 5000)\n"
        "\\if :delta > 0\n"
        "\\set sign 1\n"
        "\\else\n"
        "\\set sign -1\n"
        "\\endif\n"
        "begin;\n"
        "update t set v = v + :delta * :sign where id = :aid;\n"
        "select v::text, '{\"retry\":true}'::jsonb, $$a:b$$, '12:30'::time from t\n"
        "  where id = :aid \\gset\n"
        "\\sleep 1 ms\n"
        "end;\n"
    )
    check = check_script_text(text, "w.sql")
    assert {"set", "if", "else", "endif", "gset", "sleep"} <= check.meta_commands
    assert {"aid", "delta", "sign"} <= check.defined
    assert check.min_pgbench_major() == 12


def test_meta_command_newer_than_pgbench() -> None:
    text = "\\startpipeline\nselect 1;\n\\syncpipeline\nselect 2;\n\\endpipeline\n"
    check_script_text(text, "w.sql", pgbench_major=17)
    with pytest.raises(InvalidInputFile, match="syncpipeline needs pgbench 17 or newer"):
        check_script_text(text, "w.sql", pgbench_major=16)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputFile, match="does not exist"):
        check_script_file(tmp_path / "nope.sql")
    with pytest.raises(InvalidInputFile, match="is not a file"):
        check_script_file(tmp_path)
    binary = tmp_path / "b.sql"
    binary.write_bytes(b"\xff\xfe\x00select")
    with pytest.raises(InvalidInputFile, match="not UTF-8"):
        check_script_file(binary)


def test_broken_setup_file_is_rejected(tmp_path: Path) -> None:
    script = write(tmp_path, "select 1;\n", "q.sql")
    write(tmp_path, "create tabel t (id int);\n", "q.setup.sql")
    with pytest.raises(InvalidSQL, match=r"q\.setup\.sql:1: syntax error"):
        file_spec(str(script))


@pytest.mark.parametrize("name", ["gateway", "workflow", "vector_topk"])
def test_committed_workloads_are_valid(name: str) -> None:
    spec = file_spec(str(WORKLOADS / f"{name}.sql"))
    assert spec.setup == WORKLOADS / f"{name}.setup.sql"
    check_script_file(WORKLOADS / f"{name}.sql", pgbench_major=15)
