"""Secret stack configuration, read once as secret Outputs.

A secret the stack lacks becomes a placeholder during a preview, with a warning that names the
command that sets it; `pulumi up` stops with that command instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from config.settings import NAMESPACE, ConfigError, Settings


@dataclass(frozen=True)
class StackSecrets:
    """The secret values a stack's receivers need; None where the receiver is off."""

    slack_webhook_url: pulumi.Output[str] | None
    pagerduty_routing_key: pulumi.Output[str] | None
    smtp_password: pulumi.Output[str] | None
    sentry_dsn_backend: pulumi.Output[str] | None = None
    sentry_dsn_frontend: pulumi.Output[str] | None = None
    database_url: pulumi.Output[str] | None = None
    """The PostgreSQL URL the backups dump; these three only where backups are on."""


def read_stack_secrets(settings: Settings) -> StackSecrets:
    """Read the secrets the enabled receivers need, before any resource is declared."""
    receivers = settings.receivers
    return StackSecrets(
        slack_webhook_url=_required(settings, "slack_webhook_url") if receivers.slack else None,
        pagerduty_routing_key=(
            _required(settings, "pagerduty_routing_key") if receivers.pagerduty else None
        ),
        smtp_password=_required(settings, "smtp_password") if receivers.email else None,
        **_backed_up_secrets(settings),
    )


def _backed_up_secrets(settings: Settings) -> dict[str, pulumi.Output[str]]:
    # The product's own secrets live in Secrets Manager next to ours, so only stacks with
    # AWS (backups on) need them.
    if not settings.components.backups:
        return {}
    keys = ("sentry_dsn_backend", "sentry_dsn_frontend", "database_url")
    return {key: _required(settings, key) for key in keys}


def set_secret_command(settings: Settings, key: str) -> str:
    """The exact command that stores one secret for this stack."""
    return f"pulumi config set --secret {NAMESPACE}:{key} <value> --stack {settings.stack}"


def _required(settings: Settings, key: str) -> pulumi.Output[str]:
    value = pulumi.Config(NAMESPACE).get_secret(key)
    if value is not None:
        return value

    command = set_secret_command(settings, key)
    if not pulumi.runtime.is_dry_run():
        raise ConfigError(f"{NAMESPACE}:{key} is required and not set; run: {command}")

    pulumi.log.warn(f"{NAMESPACE}:{key} is not set; the preview uses a placeholder. Run: {command}")
    return pulumi.Output.secret(f"placeholder-{key}")
