"""The headless core never imports the presentation libraries."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pgtune_hx

PRESENTATION = ("textual", "jinja2", "matplotlib")
HEADLESS = (
    "db",
    "embedded",
    "collect",
    "host",
    "analyze",
    "advise",
    "tune",
    "bench",
    "assess",
    "demo",
)


def _headless_modules() -> list[str]:
    names = ["pgtune_hx.errors"]
    for info in pkgutil.walk_packages(pgtune_hx.__path__, "pgtune_hx."):
        top = info.name.split(".")[1]
        if top in HEADLESS:
            names.append(info.name)
    return names


def test_core_imports_no_presentation_library() -> None:
    modules = _headless_modules()
    assert "pgtune_hx.db.connect" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {PRESENTATION!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"headless core pulled in: {result.stdout.strip()}"


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout or " 0 broken" in result.stdout
