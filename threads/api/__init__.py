"""HTTP API of the threads app."""
