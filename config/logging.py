"""Settings of the logging stack (Loki and Grafana Alloy)."""

from __future__ import annotations

from config.base import StrictModel


class LoggingSettings(StrictModel):
    """How logs are collected and kept."""
