"""Declare the observability and incident stack of one environment."""

import pulumi

from components.metrics import MetricsStack
from components.network import StackNetwork
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

metrics = MetricsStack(
    "metrics",
    settings=settings,
    secrets=secrets,
    network=network.network_name,
)

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

pulumi.export("network", network.network_name)
pulumi.export("grafana_url", metrics.grafana_url)
pulumi.export("grafana_admin_password", metrics.grafana_admin_password)
