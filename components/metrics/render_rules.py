"""Prometheus alert rules, rendered from the settings.

Every expression is PromQL that both Prometheus 2.42 (promtool in CI) and 3.x (the image)
evaluate alike. Every alert carries `severity` (critical or warning; the Watchdog's is `none`)
and `instance`, which Alertmanager uses to let a critical alert silence the warnings of the same
target. A range window spans at least four scrape intervals of the job it reads, so one missed
scrape never empties it.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.metrics.render_prometheus import (
    HOST_INSTANCE,
    PROBE_JOB,
    PROMETHEUS_ADDRESS,
    RULES_DIR,
    expected_targets,
    interval_seconds,
    prometheus_duration,
)
from config.metrics import RATE_WINDOW_SCRAPES
from config.settings import Settings

RULES_PATH = f"{RULES_DIR}/alerts.yml"

CRITICAL = "critical"
WARNING = "warning"

# The stack's own containers, found by the Docker labels cAdvisor exports (see its flags).
METRICS_ROLES = ("alertmanager", "blackbox", "cadvisor", "grafana", "node-exporter", "prometheus")
LOGGING_ROLES = ("alloy", "loki")

# Filesystems whose fullness means nothing lasting.
_VOLATILE_FSTYPES = "tmpfs|ramfs"
# How far back a filesystem's trend is read and how far ahead it is projected.
DISK_TREND_WINDOW = 6 * 3600
DISK_FULL_HORIZON = 24 * 3600
DISK_TREND_FREE_PERCENT = 40
CONTAINER_RESTART_WINDOW = 15 * 60
# A probe flaps when it changes state this often (three failures and recoveries) in the window.
PROBE_FLAP_WINDOW = 15 * 60
PROBE_FLAP_CHANGES = 6
TLS_EXPIRY_FOR = 15 * 60
# Failure counters of Prometheus and Alertmanager are read over this window.
FAILURE_WINDOW = 5 * 60
COMPACTION_WINDOW = 3 * 3600
EXPORTER_DOWN_FOR = 2 * 60
TARGET_DOWN_FOR = 5 * 60
CONFIG_RELOAD_FOR = 10 * 60
CONTAINER_FOR = 5 * 60


def render_alert_rules(settings: Settings) -> str:
    """The text of the alert rule file."""
    return yaml.dump(
        {"groups": alert_rule_groups(settings)},
        Dumper=_RuleDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )


def alert_rule_groups(settings: Settings) -> list[dict[str, Any]]:
    """Every rule group as a Python structure."""
    return [
        {"name": "host", "rules": host_rules(settings)},
        {"name": "containers", "rules": container_rules(settings)},
        {"name": "probes", "rules": probe_rules(settings)},
        {"name": "api", "rules": api_rules(settings)},
        {"name": "monitoring", "rules": monitoring_rules(settings)},
        {"name": "watchdog", "rules": [watchdog_rule()]},
    ]


def host_rules(settings: Settings) -> list[dict[str, Any]]:
    """CPU, memory and disk of the Docker host, from Node Exporter."""
    alerts = settings.alerts
    node = 'job="node-exporter"'
    filesystem = f'{node},fstype!~"{_VOLATILE_FSTYPES}"'
    cpu_window = window(settings, "node-exporter")
    trend_window = window(settings, "node-exporter", DISK_TREND_WINDOW)
    free_percent = (
        f"100 * node_filesystem_avail_bytes{{{filesystem}}}\n"
        f"  / node_filesystem_size_bytes{{{filesystem}}}"
    )
    return [
        alert_rule(
            "HostHighCpu",
            f"100 * (1 - avg by (job, instance) (\n"
            f'  rate(node_cpu_seconds_total{{{node},mode="idle"}}[{cpu_window}])\n'
            f")) > {alerts.cpu_percent:g}",
            duration=alerts.cpu_for,
            severity=WARNING,
            summary=f"CPU busy above {alerts.cpu_percent:g}% on {{{{ $labels.instance }}}}",
            description=(
                f'CPU is {{{{ $value | printf "%.0f" }}}}% busy, above {alerts.cpu_percent:g}% '
                f"for at least {alerts.cpu_for}."
            ),
        ),
        alert_rule(
            "HostHighMemory",
            f"100 * (1 - node_memory_MemAvailable_bytes{{{node}}}\n"
            f"  / node_memory_MemTotal_bytes{{{node}}}) > {alerts.memory_percent:g}",
            duration=alerts.memory_for,
            severity=WARNING,
            summary=f"Memory above {alerts.memory_percent:g}% used on {{{{ $labels.instance }}}}",
            description=(
                f'{{{{ $value | printf "%.0f" }}}}% of memory is in use, above '
                f"{alerts.memory_percent:g}% for at least {alerts.memory_for}."
            ),
        ),
        alert_rule(
            "HostDiskFreeLow",
            f"{free_percent} < {alerts.disk_free_percent:g}",
            duration=alerts.disk_for,
            severity=CRITICAL,
            summary=(
                f"Less than {alerts.disk_free_percent:g}% free on {{{{ $labels.mountpoint }}}} "
                f"of {{{{ $labels.instance }}}}"
            ),
            description=(
                f'{{{{ $labels.mountpoint }}}} has {{{{ $value | printf "%.1f" }}}}% free, '
                f"below {alerts.disk_free_percent:g}% for at least {alerts.disk_for}."
            ),
        ),
        alert_rule(
            "HostDiskFillingUp",
            f"predict_linear(\n"
            f"  node_filesystem_avail_bytes{{{filesystem}}}[{trend_window}],\n"
            f"  {DISK_FULL_HORIZON}\n"
            f") < 0\n"
            f"and {free_percent} < {DISK_TREND_FREE_PERCENT}",
            duration=prometheus_duration(3600),
            severity=WARNING,
            summary=f"{{{{ $labels.mountpoint }}}} of {{{{ $labels.instance }}}} fills up within "
            f"{DISK_FULL_HORIZON // 3600}h",
            description=(
                f"At the rate of the last {DISK_TREND_WINDOW // 3600}h, "
                f"{{{{ $labels.mountpoint }}}} runs out of space within "
                f"{DISK_FULL_HORIZON // 3600}h."
            ),
        ),
        alert_rule(
            "NodeExporterDown",
            f"up{{{node}}} == 0",
            duration=down_for(interval_seconds(settings, "node-exporter"), EXPORTER_DOWN_FOR),
            severity=CRITICAL,
            summary=f"Node Exporter on {HOST_INSTANCE} is down",
            description="Prometheus cannot scrape Node Exporter: host alerts are blind.",
        ),
    ]


def container_rules(settings: Settings) -> list[dict[str, Any]]:
    """Memory, restarts and presence of containers, from cAdvisor."""
    alerts = settings.alerts
    cadvisor = 'job="cadvisor",name!=""'
    rules = [
        alert_rule(
            "ContainerMemoryNearLimit",
            f"label_replace(\n"
            f"  100 * max by (job, name) (container_memory_working_set_bytes{{{cadvisor}}})\n"
            f"    / max by (job, name) (container_spec_memory_limit_bytes{{{cadvisor}}} > 0),\n"
            f'  "instance", "$1", "name", "(.+)"\n'
            f") > {alerts.container_memory_percent:g}",
            duration=prometheus_duration(CONTAINER_FOR),
            severity=WARNING,
            summary=(
                f"{{{{ $labels.name }}}} uses more than {alerts.container_memory_percent:g}% "
                "of its memory limit"
            ),
            description=(
                '{{ $labels.name }} uses {{ $value | printf "%.0f" }}% of its memory limit; '
                "at the limit the kernel kills it."
            ),
        ),
        # Limitation: restarts are counted as resets of the container's CPU counter, which
        # cAdvisor sees only when the container stays down for less than its housekeeping.
        alert_rule(
            "ContainerRestarting",
            f"label_replace(\n"
            f"  sum by (job, name) (\n"
            f"    resets(container_cpu_usage_seconds_total{{{cadvisor}}}"
            f"[{window(settings, 'cadvisor', CONTAINER_RESTART_WINDOW)}])\n"
            f"  ),\n"
            f'  "instance", "$1", "name", "(.+)"\n'
            f") >= {alerts.container_restarts}",
            duration=None,
            severity=WARNING,
            summary="{{ $labels.name }} keeps restarting",
            description=(
                "{{ $labels.name }} restarted {{ $value }} times in the last "
                f"{prometheus_duration(CONTAINER_RESTART_WINDOW)}."
            ),
        ),
    ]
    roles = METRICS_ROLES + (LOGGING_ROLES if settings.components.logging else ())
    # Limitation: only the metrics and logging containers are watched for absence; the other
    # components' containers are covered by their probes and scrape targets.
    for role in sorted(roles):
        labels = (
            f'job="cadvisor",container_label_observability_stack="{settings.stack}",'
            f'container_label_observability_role="{role}"'
        )
        rules.append(
            alert_rule(
                "ContainerAbsent",
                # Without cAdvisor every container would look absent; its own alert covers that.
                f'absent(container_last_seen{{{labels}}})\nand on () (up{{job="cadvisor"}} == 1)',
                duration=prometheus_duration(CONTAINER_FOR),
                severity=WARNING,
                # Docker names a role's container `<stack>-<role>` (components/containers.py).
                labels={"instance": f"{settings.stack}-{role}"},
                summary=f"The {role} container of {settings.stack} is not running",
                description=(
                    f"cAdvisor has not seen the {role} container for "
                    f"{prometheus_duration(CONTAINER_FOR)}."
                ),
            )
        )
    return rules


def probe_rules(settings: Settings) -> list[dict[str, Any]]:
    """Availability, latency and certificates of every health URL, from the Blackbox Exporter."""
    alerts = settings.alerts
    probe = f'job="{PROBE_JOB}"'
    return [
        # A single failed probe stays visible for one probe interval only, and the settings
        # require service_down_for to span at least two: it never alerts on its own.
        alert_rule(
            "ServiceDown",
            f"probe_success{{{probe}}} == 0",
            duration=alerts.service_down_for,
            severity=CRITICAL,
            summary="{{ $labels.instance }} is down",
            description=(
                f"Every probe of {{{{ $labels.url }}}} has failed for at least "
                f"{alerts.service_down_for}."
            ),
        ),
        alert_rule(
            "ProbeFlapping",
            f"changes(probe_success{{{probe}}}[{window(settings, PROBE_JOB, PROBE_FLAP_WINDOW)}])"
            f" >= {PROBE_FLAP_CHANGES}",
            duration=None,
            severity=WARNING,
            summary="{{ $labels.instance }} keeps failing and recovering",
            description=(
                "Probes of {{ $labels.url }} changed between success and failure "
                f"{{{{ $value }}}} times in the last {prometheus_duration(PROBE_FLAP_WINDOW)}."
            ),
        ),
        alert_rule(
            "ProbeSlow",
            f"probe_duration_seconds{{{probe}}} > {alerts.probe_slow_seconds:g}",
            duration=alerts.probe_slow_for,
            severity=WARNING,
            summary="{{ $labels.instance }} answers slowly",
            description=(
                f'Probes of {{{{ $labels.url }}}} take {{{{ $value | printf "%.2f" }}}}s, '
                f"over {alerts.probe_slow_seconds:g}s for at least {alerts.probe_slow_for}."
            ),
        ),
        alert_rule(
            "TlsCertificateExpiring",
            f"probe_ssl_earliest_cert_expiry{{{probe}}} - time()"
            f" < {alerts.tls_expiry_days} * 86400",
            duration=prometheus_duration(TLS_EXPIRY_FOR),
            severity=WARNING,
            summary="The TLS certificate of {{ $labels.instance }} expires soon",
            description=(
                "The certificate served at {{ $labels.url }} expires in "
                f"{{{{ $value | humanizeDuration }}}} (warning at {alerts.tls_expiry_days} days)."
            ),
        ),
    ]


def api_rules(settings: Settings) -> list[dict[str, Any]]:
    """The API's share of 5xx responses, from prometheus-fastapi-instrumentator's counter."""
    alerts = settings.alerts
    # The instrumentator groups status codes by default ("5xx"); `5..` matches both forms.
    api = f'job="{alerts.api_service}"'
    ratio_percent = f"{round(alerts.api_error_ratio * 100, 6):g}%"
    return [
        alert_rule(
            "ApiHighErrorRatio",
            f"sum by (job, instance) ("
            f'rate(http_requests_total{{{api},status=~"5.."}}[{alerts.api_error_window}]))\n'
            f"  / sum by (job, instance) (rate(http_requests_total{{{api}}}"
            f"[{alerts.api_error_window}]))\n"
            f"> {alerts.api_error_ratio:g}",
            duration=alerts.api_error_for,
            severity=CRITICAL,
            summary=f"{{{{ $labels.job }}}} answers 5xx to more than {ratio_percent} of requests",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of the responses of {{{{ $labels.job }}}} "
                f"over the last {alerts.api_error_window} were 5xx, above {ratio_percent} "
                f"for at least {alerts.api_error_for}."
            ),
        ),
    ]


def monitoring_rules(settings: Settings) -> list[dict[str, Any]]:
    """The monitoring stack watching itself: targets, rules, notifications, reloads, storage."""
    prometheus = 'job="prometheus"'
    alertmanager = 'job="alertmanager"'
    slowest = max(interval_seconds(settings, "prometheus"), interval_seconds(settings, PROBE_JOB))
    missing = "\nor ".join(
        f'absent(up{{job="{job}",instance="{instance}"}})'
        for job, instance in expected_targets(settings)
    )
    return [
        alert_rule(
            "TargetDown",
            "up == 0",
            duration=down_for(slowest, TARGET_DOWN_FOR),
            severity=WARNING,
            summary="Prometheus cannot scrape {{ $labels.instance }} ({{ $labels.job }})",
            description="The {{ $labels.job }} target {{ $labels.instance }} does not answer.",
        ),
        alert_rule(
            "TargetMissing",
            missing,
            duration=down_for(slowest, TARGET_DOWN_FOR),
            severity=WARNING,
            summary="Prometheus has no {{ $labels.job }} target {{ $labels.instance }}",
            description=(
                "The {{ $labels.job }} target {{ $labels.instance }} is not in Prometheus's "
                "configuration any more: its alerts are blind."
            ),
        ),
        alert_rule(
            "BlackboxExporterDown",
            'up{job="blackbox"} == 0',
            duration=down_for(interval_seconds(settings, "blackbox"), EXPORTER_DOWN_FOR),
            severity=CRITICAL,
            summary="The Blackbox Exporter is down",
            description="No health URL is probed: ServiceDown cannot fire.",
        ),
        alert_rule(
            "PrometheusRuleEvaluationFailures",
            f"sum by (job, instance, rule_group) (\n"
            f"  increase(prometheus_rule_evaluation_failures_total{{{prometheus}}}"
            f"[{window(settings, 'prometheus', FAILURE_WINDOW)}])\n"
            f") > 0",
            duration=prometheus_duration(FAILURE_WINDOW),
            severity=CRITICAL,
            summary="Prometheus fails to evaluate rules of {{ $labels.rule_group }}",
            description=(
                "Rules of {{ $labels.rule_group }} fail to evaluate: their alerts cannot fire."
            ),
        ),
        alert_rule(
            "PrometheusNotificationsFailing",
            f"sum by (job, instance) (\n"
            f"  increase(prometheus_notifications_errors_total{{{prometheus}}}"
            f"[{window(settings, 'prometheus', FAILURE_WINDOW)}])\n"
            f") > 0",
            duration=prometheus_duration(FAILURE_WINDOW),
            severity=CRITICAL,
            summary="Prometheus cannot send alerts to Alertmanager",
            description="Alerts fire in Prometheus but do not reach Alertmanager.",
        ),
        alert_rule(
            "PrometheusConfigReloadFailed",
            f"max_over_time(prometheus_config_last_reload_successful{{{prometheus}}}"
            f"[{window(settings, 'prometheus', FAILURE_WINDOW)}]) == 0",
            duration=prometheus_duration(CONFIG_RELOAD_FOR),
            severity=WARNING,
            summary="Prometheus rejected its new configuration",
            description="Prometheus still runs its previous configuration; see its log.",
        ),
        alert_rule(
            "PrometheusTsdbCompactionsFailing",
            f"increase(prometheus_tsdb_compactions_failed_total{{{prometheus}}}"
            f"[{window(settings, 'prometheus', COMPACTION_WINDOW)}]) > 0",
            duration=None,
            severity=WARNING,
            summary="Prometheus fails to compact its storage",
            description=(
                "{{ $value }} compactions failed in the last "
                f"{prometheus_duration(COMPACTION_WINDOW)}; the disk fills and queries slow down."
            ),
        ),
        alert_rule(
            "AlertmanagerNotificationsFailing",
            f"sum by (job, instance, integration) (\n"
            f"  increase(alertmanager_notifications_failed_total{{{alertmanager}}}"
            f"[{window(settings, 'alertmanager', FAILURE_WINDOW)}])\n"
            f") > 0",
            duration=prometheus_duration(FAILURE_WINDOW),
            severity=CRITICAL,
            summary="Alertmanager cannot deliver to {{ $labels.integration }}",
            description="Notifications to {{ $labels.integration }} fail: alerts go unseen.",
        ),
        alert_rule(
            "AlertmanagerConfigReloadFailed",
            f"max_over_time(alertmanager_config_last_reload_successful{{{alertmanager}}}"
            f"[{window(settings, 'alertmanager', FAILURE_WINDOW)}]) == 0",
            duration=prometheus_duration(CONFIG_RELOAD_FOR),
            severity=WARNING,
            summary="Alertmanager rejected its new configuration",
            description="Alertmanager still runs its previous configuration; see its log.",
        ),
    ]


def watchdog_rule() -> dict[str, Any]:
    """An alert that always fires; its silence means the alerting pipeline is broken."""
    return alert_rule(
        "Watchdog",
        "vector(1)",
        duration=None,
        severity="none",
        labels={"instance": PROMETHEUS_ADDRESS},
        summary="The alerting pipeline works",
        description=("This alert always fires. A dead man's switch alarms when it stops arriving."),
    )


def alert_rule(
    name: str,
    expr: str,
    *,
    duration: str | None,
    severity: str,
    summary: str,
    description: str,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One alerting rule; `duration` is how long the condition holds before it fires."""
    rule: dict[str, Any] = {
        "alert": name,
        "expr": expr,
        "labels": {"severity": severity, **(labels or {})},
        "annotations": {"summary": summary, "description": description},
    }
    if duration is not None:
        rule["for"] = duration
    return rule


def window(settings: Settings, job: str, at_least: float = 0) -> str:
    """A range window over a job's samples: `at_least` seconds, and at least four scrapes."""
    return prometheus_duration(max(RATE_WINDOW_SCRAPES * interval_seconds(settings, job), at_least))


def down_for(interval: float, at_least: float) -> str:
    """How long a target stays unreachable before alerting: `at_least`, and four scrapes."""
    return prometheus_duration(max(RATE_WINDOW_SCRAPES * interval, at_least))


class _RuleDumper(yaml.SafeDumper):
    """Writes multi-line PromQL as literal blocks, so the file reads like the source."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RuleDumper.add_representer(str, _represent_str)
