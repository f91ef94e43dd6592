"""SecretStore: every secret of the stack as a Secrets Manager entry."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.secrets import render_secrets
from config.secrets import StackSecrets
from config.settings import Settings


class SecretStore(pulumi.ComponentResource):
    """Receiver credentials, Sentry DSNs, the database URL, Grafana's and the backups' keys."""

    arns: dict[str, pulumi.Output[str]]
    """Each entry's ARN, by entry name such as `database-url`."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        secrets: StackSecrets,
        grafana_admin_password: pulumi.Input[str],
        backup_access_key_id: pulumi.Input[str],
        backup_secret_access_key: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:secrets:SecretStore", name, None, opts)
        self._name = name
        self._settings = settings

        values: dict[str, pulumi.Input[str]] = {
            render_secrets.GRAFANA_ADMIN_PASSWORD: grafana_admin_password,
            render_secrets.BACKUP_CREDENTIALS: pulumi.Output.all(
                backup_access_key_id, backup_secret_access_key
            ).apply(lambda keys: render_secrets.backup_credentials(*keys)),
        }
        for key, entry in render_secrets.STACK_SECRET_NAMES.items():
            value = getattr(secrets, key)
            if value is not None:
                values[entry] = value

        self.arns = {entry: self._entry(entry, value) for entry, value in sorted(values.items())}
        self.register_outputs({"arns": self.arns})

    def _entry(self, entry: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
        settings = self._settings
        prod = settings.prod
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{entry}",
            name=render_secrets.secret_name(settings, entry),
            recovery_window_in_days=settings.backups.recovery_days(prod),
            tags={"project": settings.project, "stack": settings.stack},
            # A deleted prod secret would take the running containers' credentials with it.
            opts=pulumi.ResourceOptions(parent=self, protect=prod, retain_on_delete=prod),
        )
        aws.secretsmanager.SecretVersion(
            f"{self._name}-{entry}-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn
