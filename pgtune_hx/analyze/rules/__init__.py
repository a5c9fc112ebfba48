"""Rule modules, one per topic; importing one registers its rules."""
