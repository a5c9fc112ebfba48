"""Benchmarks refuse to write to a server that is not the embedded one."""

from __future__ import annotations

import pytest

from pgtune_hx.bench.target import resolve_target
from pgtune_hx.errors import WriteNotAllowed


def test_other_server_needs_allow_writes() -> None:
    dsn = "host=db.internal dbname=prod password=hunter22"
    with pytest.raises(WriteNotAllowed, match="--allow-writes") as info:
        resolve_target(dsn, allow_writes=False)
    assert "hunter22" not in str(info.value)
    target = resolve_target(dsn, allow_writes=True)
    assert target.dsn == dsn
    assert not target.is_embedded
