"""Benchmarks: figures to read, never a pass or fail."""


def plural(count: float, noun: str) -> str:
    """`1 outage`, `5 outages`: a count and its noun, in the number it needs."""
    return f"{count:g} {noun}" if count == 1 else f"{count:g} {noun}s"
