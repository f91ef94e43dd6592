"""The metrics stack's Grafana dashboards, one module per dashboard."""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard

from components.metrics.dashboards._panels import FOLDER
from components.metrics.dashboards.containers import containers_dashboard
from components.metrics.dashboards.host import host_dashboard
from components.metrics.dashboards.http_services import http_services_dashboard
from components.metrics.dashboards.probes import probes_dashboard
from config.settings import Settings

DASHBOARDS: tuple[Callable[[Settings], Dashboard], ...] = (
    host_dashboard,
    containers_dashboard,
    http_services_dashboard,
    probes_dashboard,
)


def metrics_dashboards(settings: Settings) -> list[Dashboard]:
    """A fresh builder of every metrics dashboard for these settings."""
    return [build(settings) for build in DASHBOARDS]


__all__ = ["DASHBOARDS", "FOLDER", "metrics_dashboards"]
