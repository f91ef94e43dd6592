"""Loki's S3 bucket: its lifecycle, the identity policy and the credentials Loki reads it with.

Pure functions: names in, Python structures out; `bucket_policies.policy_json` serialises them.
The bucket itself is the project's hardened bucket (`components/buckets.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.bucket_policies import VERSION, LifecycleRule, Policy, bucket_arn

# Loki's compactor deletes expired chunks; versioning keeps them this long for recovery, then
# they go too, so retention still bounds the bucket.
NONCURRENT_DAYS = 7
ABORT_MULTIPART_DAYS = 2


@dataclass(frozen=True)
class KeyPair:
    """An AWS access key pair."""

    access_key_id: str
    secret_access_key: str


def lifecycle_rules() -> list[LifecycleRule]:
    """The bucket's lifecycle: old versions and stale uploads go; Loki expires current data."""
    return [
        LifecycleRule(
            id="expire-deleted-versions",
            prefix="",
            noncurrent_days=NONCURRENT_DAYS,
            expire_delete_markers=True,
            abort_multipart_days=ABORT_MULTIPART_DAYS,
        )
    ]


def loki_identity_policy(bucket: str) -> Policy:
    """What the identity behind Loki's credentials needs on the bucket, and nothing more."""
    arn = bucket_arn(bucket)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ListLokiBucket",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": arn,
            },
            {
                "Sid": "ReadWriteLokiObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{arn}/*",
            },
        ],
    }


def parse_credentials(secret: str) -> KeyPair:
    """The key pair in the Secrets Manager secret: JSON with both keys, each a string."""
    try:
        document = json.loads(secret)
    except json.JSONDecodeError:
        raise ValueError(
            "Loki's S3 credentials secret must be JSON with access_key_id and secret_access_key"
        ) from None
    if not isinstance(document, dict):
        raise ValueError("Loki's S3 credentials secret must be a JSON object")
    missing = [
        key
        for key in ("access_key_id", "secret_access_key")
        if not isinstance(document.get(key), str) or not document[key]
    ]
    if missing:
        raise ValueError(f"Loki's S3 credentials secret lacks {', '.join(missing)}")
    return KeyPair(document["access_key_id"], document["secret_access_key"])
