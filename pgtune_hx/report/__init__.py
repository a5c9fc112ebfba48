"""Presentation: charts and reports built from the headless core's results."""
