"""Analysis of snapshots and statements: health rules (findings), query facts (pglast), EXPLAIN plans."""
