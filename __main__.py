"""Declare the observability and incident stack of one environment."""

import pulumi

from components.backups import Backups, backup_rule_files
from components.containers import volume_name
from components.edge import EdgeSecurity
from components.logging import LoggingStack, object_storage_credentials
from components.metrics import MetricsStack
from components.network import StackNetwork
from components.secrets import SecretStore
from components.status_page import StatusPage
from config import load_settings
from config.secrets import read_stack_secrets

settings = load_settings()
secrets = read_stack_secrets(settings)

network = StackNetwork(
    "network",
    stack=settings.stack,
    subnet=str(settings.ports.subnet),
    gateway=settings.ports.gateway,
)

logs = None
if settings.components.logging:
    logs = LoggingStack(
        "logging",
        settings=settings,
        network=network.network_name,
        object_storage_credentials=object_storage_credentials(settings),
        docker_host=pulumi.Config("docker").get("host"),
    )
    if logs.bucket_name is not None:
        pulumi.export("loki_bucket", logs.bucket_name)
        pulumi.export("loki_bucket_identity_policy", logs.identity_policy)

metrics = MetricsStack(
    "metrics",
    settings=settings,
    secrets=secrets,
    network=network.network_name,
    grafana_files=logs.grafana_files if logs is not None else (),
    rule_files=backup_rule_files(settings) if settings.components.backups else (),
)

status_page = None
if settings.components.status_page:
    status_page = StatusPage(
        "status-page",
        settings=settings,
        secrets=secrets,
        network=network.network_name,
    )
    pulumi.export("status_page_url", status_page.url)
    pulumi.export("status_page_admin_password", status_page.admin_password)
    pulumi.export("status_page_manual_setup", status_page.manual_setup)

if settings.components.backups:
    state_roles = ["grafana", *(["uptime-kuma"] if status_page is not None else [])]
    backups = Backups(
        "backups",
        settings=settings,
        network=network.network_name,
        database_url=secrets.database_url,
        state_volumes={role: volume_name(settings.stack, role) for role in state_roles},
        push_url=status_page.backup_push_url if status_page is not None else None,
        # The runner mounts the state volumes, so they must exist first.
        opts=pulumi.ResourceOptions(
            depends_on=[metrics, *([status_page] if status_page is not None else [])]
        ),
    )
    secret_store = SecretStore(
        "secrets",
        settings=settings,
        secrets=secrets,
        grafana_admin_password=metrics.grafana_admin_password,
        backup_access_key_id=backups.writer_access_key_id,
        backup_secret_access_key=backups.writer_secret_access_key,
    )
    pulumi.export("backup_bucket", backups.bucket_name)
    pulumi.export("restore_command", backups.restore_command)
    pulumi.export("secret_arns", secret_store.arns)

if settings.components.edge_security:
    edge = EdgeSecurity("edge", settings=settings, network=network.network_name)
    pulumi.export("edge_hostnames", edge.hostnames)
    pulumi.export("origin_certificate_expires_on", edge.origin_certificate_expires_on)

pulumi.export("network", network.network_name)
pulumi.export("grafana_url", metrics.grafana_url)
pulumi.export("grafana_admin_password", metrics.grafana_admin_password)
