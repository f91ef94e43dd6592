"""The backup bucket's lifecycle rules and the IAM policy documents around it.

Pure functions: settings and ARNs in, Python structures out; `bucket_policies.policy_json`
serialises them. The bucket itself is the project's hardened bucket (`components/buckets.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.bucket_policies import VERSION, LifecycleRule, Policy, bucket_arn
from config.settings import Settings

TIERS = ("daily", "weekly")
"""The top-level prefixes of the bucket: one per schedule tier."""


def s3_endpoint(region: str) -> str:
    """The regional S3 endpoint; clients that see the region in it never ask for it."""
    return f"s3.{region}.amazonaws.com"


def lifecycle_rules(settings: Settings) -> list[LifecycleRule]:
    """The bucket's lifecycle: daily and weekly retention, old versions, stale uploads."""
    backups = settings.backups
    return [
        LifecycleRule(id="expire-daily", prefix="daily/", expire_days=backups.daily_keep_days),
        LifecycleRule(
            id="cool-and-expire-weekly",
            prefix="weekly/",
            expire_days=backups.weekly_keep_weeks * 7,
            transition_days=backups.weekly_transition_days,
            transition_class=backups.weekly_storage_class,
        ),
        # Expiring a current version leaves a delete marker and a noncurrent version; these
        # two rules finish the job once the version has been noncurrent long enough.
        LifecycleRule(
            id="expire-old-versions",
            prefix="",
            noncurrent_days=backups.noncurrent_version_days,
            expire_delete_markers=True,
        ),
        LifecycleRule(
            id="abort-incomplete-uploads",
            prefix="",
            abort_multipart_days=backups.abort_multipart_days,
        ),
    ]


def writer_policy(bucket: str, key_arn: str, region: str) -> Policy:
    """The backup writer may put objects under the tier prefixes, list them, and nothing else.

    No delete: retention belongs to the lifecycle rules, so stolen credentials cannot erase a
    backup. KMS Decrypt is what S3 needs to finish a multipart upload under SSE-KMS; it is
    only usable through S3, where the writer may not read.
    """
    arn = bucket_arn(bucket)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "WriteBackups",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": [f"{arn}/{tier}/*" for tier in TIERS],
            },
            {
                "Sid": "ListBackups",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{tier}/*" for tier in TIERS]}},
            },
            {
                "Sid": "EncryptBackups",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": s3_endpoint(region)}},
            },
        ],
    }


def writer_actions(policy: Policy) -> list[str]:
    """Every action an identity policy allows, sorted."""
    actions: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return sorted(actions)


def replication_trust_policy() -> Policy:
    """Who may assume the replication role: S3 itself."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def replication_policy(
    source: str,
    replica: str,
    source_key_arn: str,
    replica_key_arn: str,
    regions: Sequence[str],
) -> Policy:
    """What S3 needs to copy every new version, encrypted, into the replica bucket."""
    source_region, replica_region = regions
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadReplicationConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": bucket_arn(source),
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectLegalHold",
                    "s3:GetObjectRetention",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": f"{bucket_arn(source)}/*",
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": f"{bucket_arn(replica)}/*",
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": s3_endpoint(source_region)}},
            },
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": s3_endpoint(replica_region)}},
            },
        ],
    }
