"""StatusPage: Uptime Kuma, and AutoKuma keeping its monitors equal to the settings."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.containers import (
    ComponentContainers,
    ContainerFile,
    ContainerSpec,
    HealthCheck,
    Mount,
    Port,
)
from components.images import image
from components.passwords import generated_password
from components.status_page import render_autokuma, render_uptime_kuma
from config.secrets import StackSecrets
from config.settings import Settings

PUSH_TOKEN_LENGTH = 32


class StatusPage(pulumi.ComponentResource):
    """Uptime Kuma behind the reverse proxy, with monitors declared as AutoKuma files."""

    url: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    backup_push_url: pulumi.Output[str] | None
    backup_push_token: pulumi.Output[str] | None
    manual_setup: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        secrets: StackSecrets,
        network: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:status_page:StatusPage", name, None, opts)
        containers = ComponentContainers(name, settings, network, parent=self)
        page = settings.status_page

        password = generated_password(f"{name}-admin-password", protect=settings.prod, parent=self)

        uptime_kuma_data = containers.volume("uptime-kuma")
        uptime_kuma = containers.declare(
            ContainerSpec(
                role=render_autokuma.UPTIME_KUMA_ROLE,
                image=image("uptime-kuma"),
                memory_mb=page.memory_limit("uptime-kuma"),
                # The image's own probe and timings: the first start migrates its database.
                healthcheck=HealthCheck(
                    test=["CMD", "/app/extra/healthcheck"],
                    interval="60s",
                    timeout="30s",
                    retries=5,
                    start_period="180s",
                ),
                envs=render_uptime_kuma.uptime_kuma_environment(),
                mounts=[Mount(target=render_uptime_kuma.DATA_DIR, source=uptime_kuma_data.name)],
                ports=[Port(render_uptime_kuma.PORT, render_uptime_kuma.PORT)],
            )
        )

        push_token: pulumi.Output[str] | None = None
        if render_autokuma.backup_push_enabled(settings):
            token = random.RandomString(
                f"{name}-backup-push-token",
                length=PUSH_TOKEN_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self, protect=settings.prod),
            )
            push_token = pulumi.Output.secret(token.result)

        secret_values: dict[str, pulumi.Output[str] | None] = {
            render_autokuma.SLACK_WEBHOOK_ENV: secrets.slack_webhook_url,
            render_autokuma.SMTP_PASSWORD_ENV: secrets.smtp_password,
            render_autokuma.BACKUP_PUSH_TOKEN_ENV: push_token,
        }
        secret_envs = [_secret_env(render_autokuma.PASSWORD_ENV, password)]
        for env_name in render_autokuma.secret_environment_names(settings):
            value = secret_values[env_name]
            if value is None:
                raise ValueError(f"status page: {env_name} needs a secret the stack does not read")
            secret_envs.append(_secret_env(env_name, value))

        autokuma_data = containers.volume("autokuma")
        containers.declare(
            ContainerSpec(
                role="autokuma",
                image=image("autokuma"),
                memory_mb=page.memory_limit("autokuma"),
                # Limitation: AutoKuma has no health endpoint; this only proves its process runs.
                healthcheck=HealthCheck(test=["CMD-SHELL", "kill -0 1"]),
                envs=[*render_autokuma.autokuma_environment(settings), *secret_envs],
                files=[
                    ContainerFile(path, content)
                    for path, content in render_autokuma.static_monitor_files(settings).items()
                ],
                mounts=[Mount(target=render_autokuma.DATA_DIR, source=autokuma_data.name)],
            ),
            depends_on=[uptime_kuma],
        )

        self.url = pulumi.Output.from_input(render_uptime_kuma.status_page_url(settings))
        self.admin_password = password
        self.backup_push_token = push_token
        self.backup_push_url = (
            pulumi.Output.secret(
                push_token.apply(
                    lambda value: render_autokuma.UPTIME_KUMA_URL + render_autokuma.push_path(value)
                )
            )
            if push_token is not None
            else None
        )
        self.manual_setup = pulumi.Output.from_input(render_uptime_kuma.manual_setup(settings))
        self.register_outputs(
            {
                "url": self.url,
                "admin_password": self.admin_password,
                "backup_push_url": self.backup_push_url,
                "backup_push_token": self.backup_push_token,
                "manual_setup": self.manual_setup,
            }
        )


def _secret_env(name: str, value: pulumi.Output[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.concat(name, "=", value))
