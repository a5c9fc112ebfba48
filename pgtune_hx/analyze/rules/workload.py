"""Rules about workload."""
