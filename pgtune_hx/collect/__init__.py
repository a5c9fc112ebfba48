"""Collectors and the snapshot they produce."""

from pgtune_hx.collect.model import FORMAT_VERSION, Section, Snapshot, load, save

__all__ = ["FORMAT_VERSION", "Section", "Snapshot", "load", "save"]
