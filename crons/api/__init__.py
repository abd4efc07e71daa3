"""The crons API."""
