"""Rules about server."""
