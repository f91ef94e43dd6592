"""Loki's S3 bucket: its name, policies and the credentials Loki reads it with.

Pure functions: settings and names in, Python structures out; `policy_json` serialises them.
The bucket follows the backup bucket's conventions: account-unique name, versions, encryption,
no public access and TLS only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from config.settings import Settings

VERSION = "2012-10-17"
# Loki's compactor deletes expired chunks; versioning keeps them this long for recovery, then
# they go too, so retention still bounds the bucket.
NONCURRENT_DAYS = 7
ABORT_MULTIPART_DAYS = 2

Policy = dict[str, Any]


@dataclass(frozen=True)
class KeyPair:
    """An AWS access key pair."""

    access_key_id: str
    secret_access_key: str


def bucket_name(settings: Settings, account_id: str) -> str:
    """A globally unique bucket name, such as `observability-prod-loki-123456789012`."""
    return f"{settings.project}-{settings.stack}-loki-{account_id}"


def bucket_arn(name: str) -> str:
    """The ARN of a bucket."""
    return f"arn:aws:s3:::{name}"


def bucket_policy(bucket: str) -> Policy:
    """Refuse every request that does not come over TLS."""
    arn = bucket_arn(bucket)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


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


def policy_json(policy: Policy) -> str:
    """A policy document as compact, stable JSON."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


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
