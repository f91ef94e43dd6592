"""The hardened S3 bucket: versions, encryption, no public access, TLS only, a lifecycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.bucket_policies import LifecycleRule, bucket_policy, policy_json

# The SDK's name for this nested input runs past a line.
SseByDefaultArgs = (
    aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
)


@dataclass(frozen=True)
class HardenedBucket:
    """A bucket, its versioning, and every resource that guards it (versioning included)."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    guards: list[pulumi.Resource]


def hardened_bucket(
    resource: str,
    *,
    name: pulumi.Input[str],
    lifecycle: Sequence[LifecycleRule],
    kms_key_arn: pulumi.Input[str] | None,
    region: str | None,
    tags: Mapping[str, str],
    protect: bool,
    parent: pulumi.Resource,
    object_lock_enabled: bool | None = None,
) -> HardenedBucket:
    """A bucket with the project's controls; SSE-KMS with `kms_key_arn`, else S3's own AES256.

    A protected bucket survives `pulumi destroy` and a rename and is never emptied to delete it;
    an unprotected one (staging) may be destroyed and brought up again.
    """
    child = pulumi.ResourceOptions(parent=parent)

    bucket = aws.s3.Bucket(
        resource,
        bucket=name,
        force_destroy=not protect,
        object_lock_enabled=object_lock_enabled,
        region=region,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect),
    )
    versioning = aws.s3.BucketVersioning(
        f"{resource}-versioning",
        bucket=bucket.bucket,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        region=region,
        opts=child,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{resource}-encryption",
        bucket=bucket.bucket,
        rules=[_encryption_rule(kms_key_arn)],
        region=region,
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{resource}-public-access",
        bucket=bucket.bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        region=region,
        opts=child,
    )
    if kms_key_arn is None:
        document = bucket.bucket.apply(lambda bucket_name: policy_json(bucket_policy(bucket_name)))
    else:
        document = pulumi.Output.all(bucket.bucket, kms_key_arn).apply(
            lambda values: policy_json(bucket_policy(values[0], values[1]))
        )
    policy = aws.s3.BucketPolicy(
        f"{resource}-policy",
        bucket=bucket.bucket,
        policy=document,
        region=region,
        # S3 rejects a policy while the public access block is being changed.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access]),
    )
    lifecycle_configuration = aws.s3.BucketLifecycleConfiguration(
        f"{resource}-lifecycle",
        bucket=bucket.bucket,
        rules=[_lifecycle_rule(rule) for rule in lifecycle],
        region=region,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    guards: list[pulumi.Resource] = [
        versioning,
        encryption,
        public_access,
        policy,
        lifecycle_configuration,
    ]
    return HardenedBucket(bucket=bucket, versioning=versioning, guards=guards)


def _encryption_rule(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    if kms_key_arn is None:
        by_default = SseByDefaultArgs(sse_algorithm="AES256")
    else:
        by_default = SseByDefaultArgs(sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
    return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=by_default,
        # A bucket key cuts the KMS requests, and their cost, per object.
        bucket_key_enabled=True if kms_key_arn is not None else None,
        blocked_encryption_types=["SSE-C"],
    )


def _lifecycle_rule(rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    expiration = None
    if rule.expire_days is not None or rule.expire_delete_markers:
        expiration = aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
            days=rule.expire_days,
            expired_object_delete_marker=rule.expire_delete_markers or None,
        )
    transitions = None
    if rule.transition_class is not None:
        transitions = [
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                storage_class=rule.transition_class, days=rule.transition_days
            )
        ]
    noncurrent = None
    if rule.noncurrent_days is not None:
        noncurrent = aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=rule.noncurrent_days
        )
    abort = None
    if rule.abort_multipart_days is not None:
        abort = aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=rule.abort_multipart_days
        )
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule.id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=rule.prefix),
        expiration=expiration,
        transitions=transitions,
        noncurrent_version_expiration=noncurrent,
        abort_incomplete_multipart_upload=abort,
    )
