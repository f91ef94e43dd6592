"""prometheus.yml and Prometheus's command-line flags, rendered from the settings.

The file stays in the subset that both Prometheus 3 (the image) and promtool 2.42 (the
validator in CI) accept: no `scrape_protocols`, no `otlp`, no `api_version`.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.metrics.render_blackbox import module_for
from config.base import seconds
from config.metrics import SCRAPE_TIMEOUT_SECONDS
from config.settings import Settings

CONFIG_PATH = "/etc/prometheus/prometheus.yml"
RULES_DIR = "/etc/prometheus/rules"
RULE_FILES = f"{RULES_DIR}/*.yml"
STORAGE_PATH = "/prometheus"

PROMETHEUS_ADDRESS = "prometheus:9090"
ALERTMANAGER_ADDRESS = "alertmanager:9093"
CADVISOR_ADDRESS = "cadvisor:8080"
GRAFANA_ADDRESS = "grafana:3000"
BLACKBOX_ADDRESS = "blackbox:9115"
LOKI_ADDRESS = "loki:3100"
ALLOY_ADDRESS = "alloy:12345"
PUSHGATEWAY_ADDRESS = "pushgateway:9091"
NODE_EXPORTER_PORT = 9100

# Node Exporter listens on the host's address on the stack network, which says nothing to the
# person reading an alert; every host-level alert names the host this way instead.
HOST_INSTANCE = "host"
PROBE_JOB = "probe"


def prometheus_flags(settings: Settings) -> list[str]:
    """Prometheus's flags: config file, storage path and retention by time and size."""
    return [
        f"--config.file={CONFIG_PATH}",
        f"--storage.tsdb.path={STORAGE_PATH}",
        f"--storage.tsdb.retention.time={settings.metrics.retention_time}",
        f"--storage.tsdb.retention.size={settings.metrics.retention_size}",
    ]


def render_prometheus_config(settings: Settings) -> str:
    """The text of prometheus.yml."""
    return yaml.safe_dump(prometheus_config(settings), sort_keys=True, default_flow_style=False)


def prometheus_config(settings: Settings) -> dict[str, Any]:
    """prometheus.yml as a Python structure."""
    return {
        "global": {
            "scrape_interval": settings.metrics.scrape_interval,
            "evaluation_interval": settings.metrics.evaluation_interval,
            "external_labels": {"environment": settings.environment, "stack": settings.stack},
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER_ADDRESS]}]}]},
        # A glob, so that rule files handed over by sibling components are read too.
        "rule_files": [RULE_FILES],
        "scrape_configs": scrape_configs(settings),
    }


def scrape_configs(settings: Settings) -> list[dict[str, Any]]:
    """Every scrape job: the stack itself, the host, containers, probes and the services."""
    jobs = [
        static_scrape_config("prometheus", PROMETHEUS_ADDRESS),
        static_scrape_config(
            "node-exporter",
            f"{settings.ports.gateway}:{NODE_EXPORTER_PORT}",
            labels={"instance": HOST_INSTANCE},
        ),
        static_scrape_config("cadvisor", CADVISOR_ADDRESS),
        static_scrape_config("alertmanager", ALERTMANAGER_ADDRESS),
        static_scrape_config("grafana", GRAFANA_ADDRESS),
        static_scrape_config("blackbox", BLACKBOX_ADDRESS),
    ]
    if settings.components.logging:
        jobs.append(static_scrape_config("loki", LOKI_ADDRESS))
        jobs.append(static_scrape_config("alloy", ALLOY_ADDRESS))
    if settings.components.backups:
        # Backup runs push their results; their own job and instance labels must survive.
        pushgateway = static_scrape_config("pushgateway", PUSHGATEWAY_ADDRESS)
        jobs.append({**pushgateway, "honor_labels": True})
    jobs.append(probe_scrape_config(settings))
    jobs.extend(
        service_scrape_config(service.name, service.metrics_target, service.metrics_path)
        for service in settings.services
        if service.metrics_target is not None
    )
    return jobs


def static_scrape_config(
    job: str, target: str, *, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A job scraping one fixed `host:port` at the global interval."""
    group: dict[str, Any] = {"targets": [target]}
    if labels:
        group["labels"] = labels
    return {"job_name": job, "static_configs": [group]}


def service_scrape_config(service: str, target: str, path: str) -> dict[str, Any]:
    """The job scraping a monitored service's own metrics, named after the service."""
    # The instance is the service's name, the same as on its probe, so that a critical probe
    # alert inhibits the warnings about the same service's metrics.
    return {
        "job_name": service,
        "metrics_path": path,
        "static_configs": [{"targets": [target], "labels": {"instance": service}}],
    }


def probe_scrape_config(settings: Settings) -> dict[str, Any]:
    """The job asking the Blackbox Exporter to probe every service's health URL."""
    timeout = min(seconds(settings.metrics.probe_interval), SCRAPE_TIMEOUT_SECONDS)
    return {
        "job_name": PROBE_JOB,
        "scrape_interval": settings.metrics.probe_interval,
        "scrape_timeout": prometheus_duration(timeout),
        "metrics_path": "/probe",
        "static_configs": [
            {
                "targets": [service.health_url],
                # `__param_*` labels become the probe's URL parameters.
                "labels": {
                    "__param_module": module_for(service),
                    "instance": service.name,
                    "url": service.health_url,
                },
            }
            for service in settings.services
        ],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"target_label": "__address__", "replacement": BLACKBOX_ADDRESS},
        ],
    }


def expected_targets(settings: Settings) -> list[tuple[str, str]]:
    """(job, instance) of every target Prometheus should be scraping."""
    targets = []
    for job in scrape_configs(settings):
        for group in job["static_configs"]:
            for target in group["targets"]:
                instance = group.get("labels", {}).get("instance", target)
                targets.append((job["job_name"], instance))
    return targets


def prometheus_duration(duration_seconds: float) -> str:
    """A duration in Prometheus's notation, largest units first: 90 -> `1m30s`."""
    milliseconds = round(duration_seconds * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        amount, milliseconds = divmod(milliseconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    if milliseconds or not parts:
        parts.append(f"{milliseconds}ms")
    return "".join(parts)


def interval_seconds(settings: Settings, job: str) -> float:
    """How often Prometheus scrapes a job, in seconds."""
    if job == PROBE_JOB:
        return seconds(settings.metrics.probe_interval)
    return seconds(settings.metrics.scrape_interval)
