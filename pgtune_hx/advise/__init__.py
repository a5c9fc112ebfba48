"""Index advisor: candidates from query facts, what-if verification, workload selection."""
