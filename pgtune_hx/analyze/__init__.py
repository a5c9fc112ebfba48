"""Analysis of snapshots: health rules (findings), query facts, plans."""
