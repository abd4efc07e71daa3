"""Assistants: versioned configurations of a registered graph."""
