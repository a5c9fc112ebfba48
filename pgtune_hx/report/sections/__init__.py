"""One module per report section; each has ``section(ctx) -> Section``."""
