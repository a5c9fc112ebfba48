"""The demo: a realistic database with planted problems, a replayable workload and
the run that measures it (headless: the CLI draws progress and the report)."""
