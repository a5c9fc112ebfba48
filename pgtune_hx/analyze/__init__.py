"""Analysis of what the server does: query facts (pglast), EXPLAIN plans, rules."""
