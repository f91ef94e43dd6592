"""Fetch the newest database dump from a stack's backup bucket and unpack it.

    python scripts/restore.py --bucket observability-prod-backups-123456789012 --into restore
    python scripts/restore.py --bucket ... --tier weekly --into restore \\
        --database-url postgresql://user@host/db      # also pg_restore it into that database

Credentials and region come from the usual AWS environment (AWS_PROFILE, AWS_REGION, ...);
the identity needs s3:GetObject and s3:ListBucket on the bucket and kms:Decrypt on its key,
which the backup writer deliberately lacks. Prints the path of the unpacked dump.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

TIERS = ("daily", "weekly")
DUMP_FILE = "postgres.dump"
SOURCE = "postgres"


def newest_archive(client: Any, bucket: str, tiers: Sequence[str]) -> str:
    """The key of the newest database archive under the given tiers."""
    candidates = []
    paginator = client.get_paginator("list_objects_v2")
    for tier in tiers:
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{tier}/{SOURCE}/"):
            for entry in page.get("Contents", []):
                if entry["Key"].endswith(".tar.gz"):
                    # Names carry the archive's time, which breaks ties within a second.
                    name = entry["Key"].rsplit("/", 1)[-1]
                    candidates.append((entry["LastModified"], name, entry["Key"]))
    if not candidates:
        raise SystemExit(f"no database archive under {', '.join(tiers)} in s3://{bucket}")
    return max(candidates)[2]


def unpack(archive: Path, into: Path) -> Path:
    """Unpack an archive safely and return the dump inside it."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into, filter="data")
    dumps = sorted(into.rglob(DUMP_FILE))
    if not dumps:
        raise SystemExit(f"{archive.name} holds no {DUMP_FILE}")
    return dumps[0]


def restore_into(dump: Path, database_url: str) -> None:
    """Replace the database's objects with those of the dump."""
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={database_url}", dump],
        check=True,
    )


def main(argv: Sequence[str] | None = None, client: Any = None) -> Path:
    """Run the restore; `client` replaces the S3 client (tests)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bucket", required=True, help="the stack's backup bucket")
    parser.add_argument("--tier", choices=(*TIERS, "any"), default="any")
    parser.add_argument("--into", type=Path, required=True, help="directory to unpack into")
    parser.add_argument("--database-url", help="also restore the dump into this database")
    args = parser.parse_args(argv)

    s3 = client or boto3.client("s3")
    tiers = TIERS if args.tier == "any" else (args.tier,)
    key = newest_archive(s3, args.bucket, tiers)

    args.into.mkdir(parents=True, exist_ok=True)
    archive = args.into / Path(key).name
    s3.download_file(args.bucket, key, str(archive))
    dump = unpack(archive, args.into / archive.name.removesuffix(".tar.gz"))
    print(f"s3://{args.bucket}/{key} -> {dump}", file=sys.stderr)

    if args.database_url:
        restore_into(dump, args.database_url)
    print(dump)
    return dump


if __name__ == "__main__":
    main()
