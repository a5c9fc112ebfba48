"""Analysis of snapshots and of what the server does: health rules (findings),
query facts (pglast), EXPLAIN plans."""
