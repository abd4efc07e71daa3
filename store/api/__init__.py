"""The store API."""
