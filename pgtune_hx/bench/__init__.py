"""Benchmarks: pgvector index sweeps and pgbench runs (headless)."""
