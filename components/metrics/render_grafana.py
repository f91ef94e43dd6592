"""Grafana's provisioning files, dashboards and environment, rendered from the settings."""

from __future__ import annotations

from typing import Any

import yaml

from components.dashboards import (
    ALERTMANAGER_UID,
    DASHBOARDS_DIR,
    DATASOURCE_TYPES,
    LOKI_UID,
    PROMETHEUS_UID,
    PROVISIONING_DIR,
    dashboard_file,
)
from components.metrics.dashboards import FOLDER, metrics_dashboards
from config.settings import Settings

ADMIN_PASSWORD_PATH = "/run/secrets/grafana_admin_password"
PORT = 3000
USER = "472"
"""The uid the official image runs Grafana as."""

DATASOURCES_PATH = f"{PROVISIONING_DIR}/datasources/datasources.yaml"
DASHBOARD_PROVIDERS_PATH = f"{PROVISIONING_DIR}/dashboards/dashboards.yaml"
PROVIDER_NAME = "observability"

# Containers reach each other by role on the stack network.
PROMETHEUS_URL = "http://prometheus:9090"
ALERTMANAGER_URL = "http://alertmanager:9093"
LOKI_URL = "http://loki:3100"
LOKI_NAME = "Loki"


def grafana_root_url(settings: Settings) -> str:
    """Where people open Grafana: its public host name behind the edge, else the published port."""
    if settings.components.edge_security:
        return f"https://{settings.hostnames.grafana}/"
    return f"http://{settings.ports.bind_address}:{PORT}/"


def grafana_environment(settings: Settings) -> list[str]:
    """Grafana's environment as sorted `KEY=value` strings; the password comes from a file."""
    environment = {
        "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_NEWS_NEWS_FEED_ENABLED": "false",
        "GF_PUBLIC_DASHBOARDS_ENABLED": "false",
        "GF_SECURITY_ADMIN_PASSWORD__FILE": ADMIN_PASSWORD_PATH,
        "GF_SECURITY_ADMIN_USER": settings.metrics.grafana_admin_user,
        # Behind the edge proxy browsers reach Grafana over HTTPS only; without it (a local
        # stack) they use plain HTTP on the loopback address, where secure cookies would be lost.
        "GF_SECURITY_COOKIE_SECURE": _flag(settings.components.edge_security),
        "GF_SECURITY_DISABLE_GRAVATAR": "true",
        "GF_SERVER_ROOT_URL": grafana_root_url(settings),
        "GF_SNAPSHOTS_EXTERNAL_ENABLED": "false",
        # Alerts come from Prometheus rules through Alertmanager; Grafana only shows them.
        "GF_UNIFIED_ALERTING_ENABLED": "true",
        "GF_USERS_ALLOW_ORG_CREATE": "false",
        "GF_USERS_ALLOW_SIGN_UP": "false",
    }
    return [f"{key}={value}" for key, value in sorted(environment.items())]


def datasources(settings: Settings) -> list[dict[str, Any]]:
    """Every provisioned datasource, each with a fixed uid the dashboards refer to."""
    provisioned: list[dict[str, Any]] = [
        _datasource(
            "Prometheus",
            PROMETHEUS_UID,
            PROMETHEUS_URL,
            is_default=True,
            # Grafana sizes $__rate_interval from the scrape interval.
            json_data={"httpMethod": "POST", "timeInterval": settings.metrics.scrape_interval},
        ),
        _datasource(
            "Alertmanager",
            ALERTMANAGER_UID,
            ALERTMANAGER_URL,
            json_data={"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        ),
    ]
    if settings.components.logging:
        provisioned.append(_datasource(LOKI_NAME, LOKI_UID, LOKI_URL, json_data={"maxLines": 1000}))
    return provisioned


def render_datasources(settings: Settings) -> str:
    """The datasource provisioning file."""
    document: dict[str, Any] = {"apiVersion": 1, "datasources": datasources(settings)}
    # Grafana keeps a provisioned datasource the file stops listing; a stack that turns logging
    # off removes Loki by name. Deleting one that does not exist is a no-op.
    if not settings.components.logging:
        document["deleteDatasources"] = [{"name": LOKI_NAME, "orgId": 1}]
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def render_dashboard_providers() -> str:
    """The dashboard provider file: every JSON file under the dashboards directory."""
    document = {
        "apiVersion": 1,
        "providers": [
            {
                "name": PROVIDER_NAME,
                "orgId": 1,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": True},
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def dashboard_files(settings: Settings) -> dict[str, str]:
    """The metrics dashboards as JSON, by path in the Grafana container."""
    return dict(dashboard_file(FOLDER, dashboard) for dashboard in metrics_dashboards(settings))


def grafana_files(settings: Settings) -> dict[str, str]:
    """Every provisioning and dashboard file, by absolute path inside the container."""
    files = {
        DATASOURCES_PATH: render_datasources(settings),
        DASHBOARD_PROVIDERS_PATH: render_dashboard_providers(),
        **dashboard_files(settings),
    }
    return dict(sorted(files.items()))


def _datasource(
    name: str, uid: str, url: str, *, json_data: dict[str, Any], is_default: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "type": DATASOURCE_TYPES[uid],
        "uid": uid,
        "url": url,
        "access": "proxy",
        "isDefault": is_default,
        "editable": False,
        "jsonData": json_data,
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"
