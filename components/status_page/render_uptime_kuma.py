"""Uptime Kuma's environment, and what its operator sets once by hand, from the settings.

AutoKuma declares monitors, notifications and the status page itself. Two things it cannot
declare are rendered here for the one-time setup in docs/status-page-runbook.md: which monitors
each group of the status page lists, and the maintenance windows.
"""

from __future__ import annotations

import json
from typing import Any

from components.status_page.render_autokuma import BACKUP_PUSH_NAME, backup_push_enabled
from config.settings import Settings

DATA_DIR = "/app/data"
PORT = 3001


def uptime_kuma_environment() -> list[str]:
    """Uptime Kuma's environment: SQLite in its data volume, so no database setup page."""
    # Limitation: Uptime Kuma 2 has no setting for its first administrator; the runbook has it
    # created once through the SSH tunnel, and the edge proxy never serves the setup page.
    return ["UPTIME_KUMA_DB_TYPE=sqlite", f"UPTIME_KUMA_PORT={PORT}"]


def status_page_groups(settings: Settings) -> list[dict[str, Any]]:
    """The groups of the public status page and the names of the monitors each one lists."""
    groups: list[dict[str, Any]] = [
        {"name": "Services", "monitors": [service.name for service in settings.services]}
    ]
    if backup_push_enabled(settings):
        groups.append({"name": "Jobs", "monitors": [BACKUP_PUSH_NAME]})
    return groups


def maintenance_windows(settings: Settings) -> list[dict[str, Any]]:
    """The maintenance windows as Uptime Kuma's "Cron Expression" strategy asks for them."""
    # Limitation: AutoKuma 2.0 has no maintenance entity; these windows are entered by hand.
    every_service = [service.name for service in settings.services]
    return [
        {
            "title": window.title,
            "description": window.description,
            "strategy": "cron",
            "cron": window.cron,
            "durationMinutes": window.duration_minutes,
            "timezone": window.timezone,
            "monitors": list(window.services) or every_service,
        }
        for window in settings.status_page.maintenance
    ]


def manual_setup(settings: Settings) -> str:
    """The status page's groups and the maintenance windows, as the runbook reads them."""
    document = {
        "status_page": {
            "slug": settings.status_page.slug,
            "url": status_page_url(settings),
            "groups": status_page_groups(settings),
        },
        "maintenance": maintenance_windows(settings),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def status_page_url(settings: Settings) -> str:
    """The public address of the status page."""
    return f"https://{settings.hostnames.status}/status/{settings.status_page.slug}"
