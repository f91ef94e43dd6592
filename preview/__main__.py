"""`python -m preview <stack>`: write the offline preview of one stack under build/<stack>/."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections import Counter
from pathlib import Path

from config import ConfigError
from preview.harness import ROOT, Preview, known_stacks, run_preview


def write_preview(preview: Preview, out_dir: Path) -> int:
    """Write resources.json and every container's files; return how many files were written."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / "resources.json").write_text(preview.manifest())

    for (container, path), content in preview.files().items():
        target = out_dir / "files" / container / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return len(preview.files())


def components_summary(preview: Preview) -> Counter[str]:
    """How many resources each top-level component declares."""
    parents = {resource.name: resource.parent for resource in preview.resources}
    counts: Counter[str] = Counter()
    for resource in preview.resources:
        top = resource.name
        while parents.get(top) is not None:
            top = parents[top]  # type: ignore[assignment]
        if top != resource.name:
            counts[top] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stack", choices=known_stacks())
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")

    try:
        preview = run_preview(args.stack)
    except ConfigError as error:
        print(f"Pulumi.{args.stack}.yaml: {error}", file=sys.stderr)
        return 2

    out_dir = args.out / args.stack
    written = write_preview(preview, out_dir)
    print(f"stack {args.stack}: {len(preview.resources)} resources")
    for component, count in sorted(components_summary(preview).items()):
        print(f"  {component:<16} {count:>3} resource{'s' if count != 1 else ''}")
    print(f"wrote {out_dir / 'resources.json'} and {written} files under {out_dir / 'files'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
