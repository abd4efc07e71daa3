"""HTTP API of the runs app."""
