"""Management commands of the assistants app."""
