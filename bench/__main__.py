"""`make bench`: print the figures; a slow machine never fails anything."""

from __future__ import annotations

import logging

from bench import footprint


def main() -> None:
    # The previews' own warnings (placeholder secrets) are not benchmark figures.
    logging.basicConfig(level=logging.ERROR)
    footprint.report()


if __name__ == "__main__":
    main()
