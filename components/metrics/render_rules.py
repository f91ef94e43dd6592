"""Prometheus alert rules, rendered from the settings."""

from __future__ import annotations

import yaml

from config.settings import Settings

RULES_PATH = "/etc/prometheus/rules/alerts.yml"


def render_alert_rules(settings: Settings) -> str:
    """The text of the alert rule file."""
    return yaml.safe_dump({"groups": []})
