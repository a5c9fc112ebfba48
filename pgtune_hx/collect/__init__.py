"""Collectors and the snapshot they produce.

``collect_snapshot(conn)`` lives in ``pgtune_hx.collect.snapshot`` and
``diff(a, b)`` in ``pgtune_hx.collect.diff``; they are imported lazily here so
that reading a snapshot file does not load the collectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgtune_hx.collect.model import FORMAT_VERSION, Section, Snapshot, load, save

if TYPE_CHECKING:
    from pgtune_hx.collect.snapshot import collect_snapshot

__all__ = ["FORMAT_VERSION", "Section", "Snapshot", "collect_snapshot", "load", "save"]


def __getattr__(name: str) -> Any:
    if name == "collect_snapshot":
        from pgtune_hx.collect.snapshot import collect_snapshot

        return collect_snapshot
    raise AttributeError(name)
