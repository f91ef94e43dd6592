"""Loki and Grafana Alloy: every container's logs, searchable, alerting and bounded."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.logging.component import LoggingStack
from config.settings import Settings


def object_storage_credentials(settings: Settings) -> pulumi.Output[str] | None:
    """Loki's S3 key pair from Secrets Manager, as a secret; None unless Loki stores in S3."""
    s3 = settings.logging.s3
    if settings.logging.storage != "s3" or s3 is None:
        return None
    version = aws.secretsmanager.get_secret_version_output(
        secret_id=s3.credentials_secret, region=s3.region
    )
    return pulumi.Output.secret(version.secret_string)


__all__ = ["LoggingStack", "object_storage_credentials"]
