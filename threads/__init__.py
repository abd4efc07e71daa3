"""Threads, their checkpoints, and the Django checkpointer."""
