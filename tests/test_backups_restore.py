"""The documented restore command fetches the newest real pg_dump and restores it."""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.conftest import real_tool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import restore  # noqa: E402

BUCKET = "observability-staging-backups-123456789012"


def _server_tool(name: str) -> str:
    # Debian keeps initdb and pg_ctl out of PATH, under the server's versioned directory.
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed; run .ci/install-tools (CI does)")
    return found


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root, which CI is.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket; yields its socket directory."""
    root = Path(tempfile.mkdtemp(prefix="restore-test-"))
    root.chmod(0o777)
    data = root / "data"
    subprocess.run(
        _as_server_user([_server_tool("initdb"), "--auth=trust", "-U", "postgres", str(data)]),
        check=True,
        capture_output=True,
    )
    options = f"-k {root} -c listen_addresses='' -c fsync=off"
    pg_ctl = _server_tool("pg_ctl")
    subprocess.run(
        # With its own log file the server does not hold on to our captured output.
        _as_server_user(
            [pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield str(root)
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]))
        shutil.rmtree(root, ignore_errors=True)


def _url(socket_dir: str, name: str) -> str:
    return f"postgresql:///{name}?host={socket_dir}&user=postgres"


def _psql(socket_dir: str, name: str, sql: str) -> str:
    result = subprocess.run(
        [
            real_tool("psql"),
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            _url(socket_dir, name),
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def _archive(dump: bytes) -> bytes:
    # Laid out as the backup runner archives its /backup/postgres source.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        entry = tarfile.TarInfo("backup/postgres/postgres.dump")
        entry.size = len(dump)
        tar.addfile(entry, io.BytesIO(dump))
    return buffer.getvalue()


def _dump(socket_dir: str, name: str) -> bytes:
    return subprocess.run(
        [real_tool("pg_dump"), "--format=custom", _url(socket_dir, name)],
        check=True,
        capture_output=True,
    ).stdout


def test_restore_fetches_the_newest_dump_and_restores_its_rows(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest daily archive wins over older ones, unpacks, and pg_restore brings its rows."""
    for name in ("app", "restored"):
        _psql(database, "postgres", f"CREATE DATABASE {name}")
    _psql(database, "app", "CREATE TABLE orders (id int PRIMARY KEY, item text)")
    _psql(database, "app", "INSERT INTO orders VALUES (1, 'old')")
    older = _dump(database, "app")
    _psql(database, "app", "INSERT INTO orders VALUES (2, 'new')")
    newer = _dump(database, "app")

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        for key, dump in (
            ("weekly/postgres/postgres-2026-11-29T04-00-00.tar.gz", older),
            ("daily/postgres/postgres-2026-12-01T03-00-00.tar.gz", older),
            ("daily/volumes/volumes-2026-12-02T03-00-00.tar.gz", b"not a dump"),
            ("daily/postgres/postgres-2026-12-02T03-00-00.tar.gz", newer),
        ):
            s3.put_object(
                Bucket=BUCKET, Key=key, Body=_archive(dump) if dump != b"not a dump" else dump
            )
            time.sleep(0.01)

        dump_path = restore.main(
            [
                "--bucket",
                BUCKET,
                "--into",
                str(tmp_path / "restore"),
                "--database-url",
                _url(database, "restored"),
            ],
            client=s3,
        )

    assert dump_path.name == "postgres.dump"
    assert "postgres-2026-12-02T03-00-00" in str(dump_path)
    assert dump_path.read_bytes() == newer
    assert _psql(database, "restored", "SELECT item FROM orders ORDER BY id") == "old\nnew"


def test_restore_refuses_a_bucket_without_database_archives(tmp_path: Path) -> None:
    """An empty bucket is a clear error, not an empty restore."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        with pytest.raises(SystemExit, match="no database archive"):
            restore.main(["--bucket", BUCKET, "--into", str(tmp_path)], client=s3)


def test_restore_command_runs_from_the_command_line() -> None:
    """The documented command is a real script with its own help."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "restore.py"), "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "--bucket" in result.stdout and "--database-url" in result.stdout
