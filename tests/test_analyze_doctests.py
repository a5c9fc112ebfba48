"""The doctests of the analyzer's small pure helpers run with the suite."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from pgtune_hx.analyze import common, findings, interval
from pgtune_hx.analyze.rules import tables
from pgtune_hx.cli import analyze as cli_analyze


@pytest.mark.parametrize("module", [common, findings, interval, tables, cli_analyze])
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0
