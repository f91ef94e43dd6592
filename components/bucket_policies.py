"""The hardened S3 bucket's documents: its name, ARN, TLS-only policy and lifecycle rules.

Pure functions: settings and names in, Python structures out; `policy_json` serialises them.
`components/buckets.py` declares the resources from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.settings import Settings

VERSION = "2012-10-17"

Policy = dict[str, Any]


def bucket_name(settings: Settings, account_id: str, purpose: str) -> str:
    """A globally unique bucket name, such as `observability-prod-backups-123456789012`."""
    return f"{settings.project}-{settings.stack}-{purpose}-{account_id}"


def bucket_arn(name: str) -> str:
    """The ARN of a bucket."""
    return f"arn:aws:s3:::{name}"


def bucket_policy(bucket: str, key_arn: str | None = None) -> Policy:
    """Refuse plain HTTP; with a KMS key, also uploads that ask for any other encryption.

    An upload that names no encryption gets the bucket's default, SSE-KMS with the same key,
    so no object is ever stored any other way. Such uploads stay allowed because some writers
    (the volume backup image) cannot send the encryption header.
    """
    # Limitation: an upload without an encryption header is admitted (and encrypted by default)
    # because the volume backup image cannot send one.
    arn = bucket_arn(bucket)
    objects = f"{arn}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyPlainHttp",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if key_arn is not None:
        statements += [
            {
                "Sid": "DenyUploadsNotEncryptedWithKms",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            },
            {
                "Sid": "DenyUploadsWithAnotherKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "ArnNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                },
            },
        ]
    return {"Version": VERSION, "Statement": statements}


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule; exactly one prefix filter ("" is the whole bucket)."""

    id: str
    prefix: str
    expire_days: int | None = None
    transition_days: int | None = None
    transition_class: str | None = None
    noncurrent_days: int | None = None
    expire_delete_markers: bool = False
    abort_multipart_days: int | None = None


def policy_json(policy: Mapping[str, Any]) -> str:
    """A policy document as the provider receives it: stable key order, compact."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))
