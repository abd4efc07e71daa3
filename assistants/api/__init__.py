"""HTTP API of the assistants app."""
