"""LoggingStack: Loki stores and alerts on every container's logs; Grafana Alloy ships them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.bucket_policies import bucket_name, policy_json
from components.buckets import hardened_bucket
from components.containers import (
    ComponentContainers,
    ContainerFile,
    ContainerSpec,
    HealthCheck,
    Mount,
    Port,
)
from components.images import image
from components.logging import render_alloy, render_dashboard, render_loki, render_rules
from components.logging import render_storage as storage
from config.settings import Settings

# Alloy's image has bash but neither curl nor wget; bash's /dev/tcp asks for its ready page.
ALLOY_READY = (
    f"exec 3<>/dev/tcp/127.0.0.1/{render_alloy.HTTP_PORT} "
    "&& printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 "
    "&& head -n 1 <&3 | grep -q ' 200 '"
)
# Loki's image has no shell at all; the binary checks its own /ready page.
LOKI_READY = ["CMD", "/usr/bin/loki", "-health"]


def go_memory_limit(memory_mb: int) -> str:
    """GOMEMLIMIT for a Go program in a container: 90% of it, so the GC acts before the OOM kill."""
    return f"GOMEMLIMIT={memory_mb * 9 // 10}MiB"


class LoggingStack(pulumi.ComponentResource):
    """Loki (storage, retention, ruler) and Grafana Alloy (collection) for one stack."""

    loki_url: pulumi.Output[str]
    bucket_name: pulumi.Output[str] | None
    identity_policy: pulumi.Output[str] | None
    """The IAM policy the identity behind Loki's S3 credentials needs; None without S3."""
    grafana_files: list[ContainerFile]
    """The logs dashboard, for Grafana's container; Grafana's datasource points at `loki_url`."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        network: pulumi.Input[str],
        object_storage_credentials: pulumi.Input[str] | None = None,
        docker_host: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:logging:LoggingStack", name, None, opts)
        self._name = name
        self._settings = settings
        containers = ComponentContainers(name, settings, network, parent=self)
        logging = settings.logging

        self.bucket_name = None
        self.identity_policy = None
        storage_envs: list[pulumi.Input[str]] = []
        guards: list[pulumi.Resource] = []
        if logging.storage == "s3":
            if object_storage_credentials is None:
                raise ValueError(
                    "observability:logging.storage is 's3', so LoggingStack needs the "
                    "credentials from Secrets Manager"
                )
            bucket, guards = self._bucket()
            self.bucket_name = bucket.bucket
            self.identity_policy = bucket.bucket.apply(
                lambda name: policy_json(storage.loki_identity_policy(name))
            )
            storage_envs = _credential_envs(object_storage_credentials)

        loki_config = (
            self.bucket_name.apply(
                lambda bucket: render_loki.render_loki_config(settings, bucket=bucket)
            )
            if self.bucket_name is not None
            else render_loki.render_loki_config(settings)
        )
        loki_data = containers.volume("loki")
        loki = containers.declare(
            ContainerSpec(
                role="loki",
                image=image("loki"),
                memory_mb=logging.memory_limit("loki"),
                healthcheck=HealthCheck(test=LOKI_READY),
                command=render_loki.loki_flags(),
                envs=[go_memory_limit(logging.memory_limit("loki")), *storage_envs],
                files=[
                    ContainerFile(render_loki.CONFIG_PATH, loki_config),
                    ContainerFile(
                        render_rules.RULES_PATH, render_rules.render_log_alert_rules(settings)
                    ),
                ],
                mounts=[Mount(target=render_loki.DATA_DIR, source=loki_data.name)],
                ports=[Port(render_loki.HTTP_PORT, render_loki.HTTP_PORT)],
            ),
            depends_on=guards,
        )

        alloy_data = containers.volume("alloy")
        host = render_alloy.host_label(settings, docker_host)
        containers.declare(
            ContainerSpec(
                role="alloy",
                image=image("alloy"),
                memory_mb=logging.memory_limit("alloy"),
                healthcheck=HealthCheck(test=["CMD", "bash", "-c", ALLOY_READY]),
                command=[
                    "run",
                    f"--server.http.listen-addr=0.0.0.0:{render_alloy.HTTP_PORT}",
                    f"--storage.path={render_alloy.DATA_PATH}",
                    "--disable-reporting",
                    render_alloy.CONFIG_PATH,
                ],
                envs=[go_memory_limit(logging.memory_limit("alloy"))],
                files=[
                    ContainerFile(
                        render_alloy.CONFIG_PATH,
                        render_alloy.render_alloy_config(settings, host=host),
                    )
                ],
                mounts=[
                    # Read-only: Alloy lists containers and reads their logs, nothing more.
                    Mount(
                        target=render_alloy.DOCKER_SOCKET_PATH,
                        source=render_alloy.DOCKER_SOCKET_PATH,
                        type="bind",
                        read_only=True,
                    ),
                    # Its positions survive a restart, so no line is shipped twice.
                    Mount(target=render_alloy.DATA_PATH, source=alloy_data.name),
                ],
                ports=[Port(render_alloy.HTTP_PORT, render_alloy.HTTP_PORT)],
            ),
            depends_on=[loki],
        )

        self.grafana_files = [
            ContainerFile(path, content)
            for path, content in render_dashboard.dashboard_files(settings).items()
        ]
        self.loki_url = pulumi.Output.from_input(f"http://loki:{render_loki.HTTP_PORT}")
        outputs: dict[str, object] = {"loki_url": self.loki_url}
        if self.bucket_name is not None:
            outputs["bucket_name"] = self.bucket_name
            outputs["identity_policy"] = self.identity_policy
        self.register_outputs(outputs)

    def _bucket(self) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
        """Loki's bucket with the project's controls: versions, encryption, no public, TLS only."""
        settings = self._settings
        s3 = settings.logging.s3
        if s3 is None:
            raise ValueError("observability:logging.s3 is required when storage is 's3'")
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        hardened = hardened_bucket(
            f"{self._name}-bucket",
            name=identity.account_id.apply(lambda account: bucket_name(settings, account, "loki")),
            lifecycle=storage.lifecycle_rules(),
            kms_key_arn=None,
            region=s3.region,
            tags={"project": settings.project, "stack": settings.stack},
            # In prod, losing the bucket loses every log line.
            protect=settings.prod,
            parent=self,
        )
        return hardened.bucket, hardened.guards


def _credential_envs(credentials: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    """The S3 key pair as Loki's environment, built from the secret and staying secret."""
    parsed = pulumi.Output.secret(credentials).apply(storage.parse_credentials)
    return [
        pulumi.Output.secret(
            parsed.apply(lambda pair: f"{render_loki.ACCESS_KEY_ENV}={pair.access_key_id}")
        ),
        pulumi.Output.secret(
            parsed.apply(lambda pair: f"{render_loki.SECRET_KEY_ENV}={pair.secret_access_key}")
        ),
    ]
