"""Rules about indexes."""
