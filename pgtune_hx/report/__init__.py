"""Presentation: charts (matplotlib) and the HTML report; never imported by the headless core."""
