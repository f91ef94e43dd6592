"""Prometheus, exporters, Alertmanager and Grafana on the stack's Docker host."""

from components.metrics.component import MetricsStack

__all__ = ["MetricsStack"]
