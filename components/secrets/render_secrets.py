"""Names and contents of the stack's Secrets Manager entries."""

from __future__ import annotations

import json

from config.settings import Settings

STACK_SECRET_NAMES = {
    "slack_webhook_url": "slack-webhook-url",
    "pagerduty_routing_key": "pagerduty-routing-key",
    "smtp_password": "smtp-password",
    "sentry_dsn_backend": "sentry-dsn-backend",
    "sentry_dsn_frontend": "sentry-dsn-frontend",
    "database_url": "database-url",
}
"""Entries whose values come from secret stack config, by their config key."""

GRAFANA_ADMIN_PASSWORD = "grafana-admin-password"
BACKUP_CREDENTIALS = "backup-credentials"


def secret_name(settings: Settings, entry: str) -> str:
    """The entry's name, `<project>/<stack>/<entry>`, so stacks never collide."""
    return f"{settings.project}/{settings.stack}/{entry}"


def backup_credentials(access_key_id: str, secret_access_key: str) -> str:
    """The backup writer's access key as the JSON the AWS tools read."""
    return json.dumps(
        {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key},
        sort_keys=True,
    )
