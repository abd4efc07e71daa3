"""Thread TTLs: when an idle thread is deleted (or pruned), and the sweep that does it."""
