"""Signal receivers: thin, they hand off to services."""
