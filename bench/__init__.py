"""Benchmarks: `make bench` prints the figures (never timed tests)."""
