"""prometheus.yml and Prometheus's command-line flags, rendered from the settings."""

from __future__ import annotations

import yaml

from config.settings import Settings

CONFIG_PATH = "/etc/prometheus/prometheus.yml"
NODE_EXPORTER_PORT = 9100


def prometheus_flags(settings: Settings) -> list[str]:
    """Prometheus's flags: config file, storage path and retention."""
    return [
        f"--config.file={CONFIG_PATH}",
        "--storage.tsdb.path=/prometheus",
        f"--storage.tsdb.retention.time={settings.metrics.retention_time}",
        f"--storage.tsdb.retention.size={settings.metrics.retention_size}",
    ]


def render_prometheus_config(settings: Settings) -> str:
    """The text of prometheus.yml."""
    return yaml.safe_dump({"global": {"scrape_interval": settings.metrics.scrape_interval}})
