"""`make bench`: print the figures; a slow machine never fails anything."""

from __future__ import annotations

import argparse
import logging

from bench import footprint, outage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--outages",
        type=int,
        default=outage.DEFAULT_OUTAGES,
        help="outages to time on the real daemons with prod's timings (0 skips them)",
    )
    args = parser.parse_args()
    # The previews' own warnings (placeholder secrets) are not benchmark figures.
    logging.basicConfig(level=logging.ERROR)

    footprint.report()
    if args.outages > 0:
        print()
        outage.report(outages=args.outages)


if __name__ == "__main__":
    main()
