"""Benchmarks: figures to read, never a pass or fail."""
