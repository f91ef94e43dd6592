"""Grafana's provisioning files, dashboards and environment, rendered from the settings."""

from __future__ import annotations

from config.settings import Settings

ADMIN_PASSWORD_PATH = "/run/secrets/grafana_admin_password"
USER = "472"


def grafana_environment(settings: Settings) -> list[str]:
    """Grafana's environment: admin password from a file, no anonymous access, no sign-up."""
    return [f"GF_SECURITY_ADMIN_PASSWORD__FILE={ADMIN_PASSWORD_PATH}"]


def grafana_files(settings: Settings) -> dict[str, str]:
    """Every provisioning and dashboard file, by absolute path inside the container."""
    return {}
