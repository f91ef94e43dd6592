"""Settings of the metrics stack: intervals, retention, alert thresholds, receivers and routing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from config.base import (
    Duration,
    EmailAddress,
    HostPort,
    HttpsUrl,
    MemoryLimits,
    Percent,
    Ratio,
    Size,
    SlackChannel,
    StrictModel,
    memory_mb_field,
    seconds,
)

DEFAULT_SCRAPE_INTERVAL = "15s"
DEFAULT_EVALUATION_INTERVAL = "15s"
DEFAULT_RETENTION_TIME = "30d"
DEFAULT_RETENTION_SIZE = "20GB"

# Memory limits in MiB. Prometheus is sized for about 100k active series at 15s; the exporters
# are small Go programs whose working set stays well below these limits.
DEFAULT_MEMORY_MB = {
    "prometheus": 1024,
    "alertmanager": 128,
    "grafana": 384,
    "node-exporter": 64,
    "cadvisor": 256,
    "blackbox": 64,
}

Receiver = Literal["pagerduty", "slack", "email"]
_CRITICAL_DEFAULT: tuple[Receiver, ...] = ("pagerduty", "slack")
_WARNING_DEFAULT: tuple[Receiver, ...] = ("slack",)


class MetricsSettings(MemoryLimits):
    """How Prometheus collects, evaluates and keeps metrics."""

    scrape_interval: Duration = DEFAULT_SCRAPE_INTERVAL
    """How often Prometheus scrapes every target."""
    evaluation_interval: Duration = DEFAULT_EVALUATION_INTERVAL
    """How often alert rules are evaluated."""
    probe_interval: Duration = DEFAULT_SCRAPE_INTERVAL
    """How often the blackbox exporter probes each health URL."""
    retention_time: Duration = DEFAULT_RETENTION_TIME
    """How long Prometheus keeps samples."""
    retention_size: Size = DEFAULT_RETENTION_SIZE
    """The most disk Prometheus's samples may use; the oldest go first."""
    memory_mb: dict[str, PositiveInt] = memory_mb_field(DEFAULT_MEMORY_MB)
    """Memory limits in MiB by container; a container left out keeps its default."""
    grafana_admin_user: str = Field(
        default="admin",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$",
        description="Grafana's admin login; its password is generated and kept as a secret.",
    )


class AlertSettings(StrictModel):
    """Thresholds and durations of the alert rules."""

    cpu_percent: Percent = 80
    """HostHighCpu: the host's CPU busy above this percentage for `cpu_for`."""
    cpu_for: Duration = "5m"
    """How long the CPU stays above `cpu_percent` before HostHighCpu fires."""
    memory_percent: Percent = 90
    """HostHighMemory: the host's memory in use above this percentage for `memory_for`."""
    memory_for: Duration = "10m"
    """How long memory stays above `memory_percent` before HostHighMemory fires."""
    disk_free_percent: Percent = 15
    """HostDiskFreeLow: a filesystem's free space below this percentage for `disk_for`."""
    disk_for: Duration = "5m"
    """How long free space stays below `disk_free_percent` before HostDiskFreeLow fires."""
    api_service: str = "api"
    """The service (and so the Prometheus job) whose 5xx responses ApiHighErrorRatio watches."""
    api_error_ratio: Ratio = 0.05
    """ApiHighErrorRatio: 5xx responses above this fraction of all, over `api_error_window`."""
    api_error_window: Duration = "5m"
    """The window the 5xx ratio is computed over; at least 4 scrape intervals."""
    api_error_for: Duration = "5m"
    """How long the 5xx ratio stays above `api_error_ratio` before ApiHighErrorRatio fires."""
    service_down_for: Duration = "30s"
    """ServiceDown: every probe of a health URL fails this long; at least 2 probe intervals."""
    probe_slow_seconds: float = Field(default=2.0, gt=0, le=60)
    """ProbeSlow: a probe takes longer than this many seconds for `probe_slow_for`."""
    probe_slow_for: Duration = "5m"
    """How long probes stay slower than `probe_slow_seconds` before ProbeSlow fires."""
    tls_expiry_days: PositiveInt = 14
    """TlsCertificateExpiring: a probed certificate expires within this many days."""
    container_memory_percent: Percent = 90
    """ContainerMemoryNearLimit: a container uses more than this percentage of its limit."""
    container_restarts: PositiveInt = 3
    """ContainerRestarting: a container restarts this many times within 15 minutes."""


# Prometheus's default scrape timeout; a scrape never runs longer than its interval either.
SCRAPE_TIMEOUT_SECONDS = 10.0
# The Blackbox Exporter ends a probe this long before Prometheus's scrape timeout.
PROBE_TIMEOUT_MARGIN_SECONDS = 0.5
# A rate() window needs several samples to survive one missed scrape.
RATE_WINDOW_SCRAPES = 4
# A single failed probe is visible for at most one probe interval; two leave room for jitter.
SERVICE_DOWN_PROBES = 2

STACK_JOBS = (
    "alertmanager",
    "alloy",
    "blackbox",
    "cadvisor",
    "grafana",
    "loki",
    "node-exporter",
    "probe",
    "prometheus",
)
"""Prometheus jobs of the stack itself; a monitored service's job cannot take one of these names."""


def probe_timeout_seconds(metrics: MetricsSettings) -> float:
    """How long one blackbox probe may run: the probe job's scrape timeout less the margin."""
    scrape_timeout = min(seconds(metrics.probe_interval), SCRAPE_TIMEOUT_SECONDS)
    return scrape_timeout - PROBE_TIMEOUT_MARGIN_SECONDS


def check_alert_timing(metrics: MetricsSettings, alerts: AlertSettings) -> None:
    """Reject alert windows and durations the collection intervals cannot support."""
    scrape = seconds(metrics.scrape_interval)
    if seconds(alerts.api_error_window) < RATE_WINDOW_SCRAPES * scrape:
        raise ValueError(
            f"alerts.api_error_window must span at least {RATE_WINDOW_SCRAPES} scrape intervals "
            f"({RATE_WINDOW_SCRAPES} x {metrics.scrape_interval} = "
            f"{RATE_WINDOW_SCRAPES * scrape:g}s), got {alerts.api_error_window}"
        )

    probe = seconds(metrics.probe_interval)
    if probe < 1:
        raise ValueError(
            f"metrics.probe_interval must be at least 1s, got {metrics.probe_interval}"
        )
    if seconds(alerts.service_down_for) < SERVICE_DOWN_PROBES * probe:
        raise ValueError(
            f"alerts.service_down_for must span at least {SERVICE_DOWN_PROBES} probe intervals "
            f"({SERVICE_DOWN_PROBES} x {metrics.probe_interval} = {SERVICE_DOWN_PROBES * probe:g}s)"
            f" so that one failed probe never alerts, got {alerts.service_down_for}"
        )


def check_job_names(services: list[str]) -> None:
    """Reject monitored services whose Prometheus job would clash with one of the stack's own."""
    clashes = sorted(set(services) & set(STACK_JOBS))
    if clashes:
        raise ValueError(
            f"services: names must differ from the stack's own Prometheus jobs "
            f"{list(STACK_JOBS)}, got {clashes}"
        )


class SlackReceiver(StrictModel):
    """Slack incoming webhook; the webhook URL itself is the secret `slack_webhook_url`."""

    channel: SlackChannel
    """Channel (`#name`) or user (`@name`) the webhook posts to."""
    send_resolved: bool = True
    """Also post when an alert resolves."""


class EmailReceiver(StrictModel):
    """SMTP delivery; the password is the secret `smtp_password`."""

    to: EmailAddress
    """Address that receives alert emails."""
    sender: EmailAddress
    """The From address."""
    smarthost: HostPort
    """SMTP server as `host:port`."""
    username: str
    """SMTP user name."""
    require_tls: bool = True
    """Require STARTTLS."""


class PagerDutyReceiver(StrictModel):
    """PagerDuty Events API v2; the routing key is the secret `pagerduty_routing_key`."""

    send_resolved: bool = True
    """Also resolve the PagerDuty incident when the alert resolves."""


class Receivers(StrictModel):
    """Where alerts can go. A receiver left out is not configured at all."""

    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None
    pagerduty: PagerDutyReceiver | None = None

    def enabled(self) -> list[Receiver]:
        """The configured receivers, in a fixed order."""
        names: list[Receiver] = ["pagerduty", "slack", "email"]
        return [name for name in names if getattr(self, name) is not None]


class Routing(StrictModel):
    """Which receivers each severity reaches, and how often notifications repeat."""

    critical: list[Receiver] = Field(default_factory=lambda: list(_CRITICAL_DEFAULT))
    """Receivers a critical alert reaches."""
    warning: list[Receiver] = Field(default_factory=lambda: list(_WARNING_DEFAULT))
    """Receivers a warning reaches."""
    group_wait: Duration = "30s"
    """How long a new warning group waits to collect more alerts before the first notification."""
    critical_group_wait: Duration = "5s"
    """The same for critical alerts."""
    group_interval: Duration = "5m"
    """How long before a warning group sends alerts added since its last notification."""
    critical_group_interval: Duration = "1m"
    """The same for critical alerts (also how soon their resolution is sent)."""
    repeat_interval: Duration = "4h"
    """How long before a still-firing warning is sent again."""
    critical_repeat_interval: Duration = "1h"
    """The same for critical alerts."""
    heartbeat_interval: Duration = "1m"
    """How often the always-firing Watchdog pings the heartbeat URL."""
    heartbeat_url: HttpsUrl | None = None
    """Dead man's switch URL the Watchdog pings; not set sends it nowhere."""

    @model_validator(mode="after")
    def _intervals_are_ordered(self) -> Routing:
        for prefix in ("", "critical_"):
            repeat = getattr(self, f"{prefix}repeat_interval")
            group = getattr(self, f"{prefix}group_interval")
            if seconds(repeat) < seconds(group):
                raise ValueError(
                    f"{prefix}repeat_interval must not be shorter than {prefix}group_interval, "
                    f"got {repeat} < {group}"
                )
        return self
