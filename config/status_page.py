"""Settings of the status page: Uptime Kuma's monitors, notifications and maintenance windows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, PositiveInt, model_validator

from config.base import Duration, MemoryLimits, Slug, StrictModel, memory_mb_field, seconds

# Uptime Kuma 2 accepts check intervals from 20 seconds up to 24 days.
MIN_INTERVAL_SECONDS = 20
MAX_INTERVAL_SECONDS = 24 * 24 * 3600
MAX_RETRIES = 10

DEFAULT_INTERVAL = "60s"
DEFAULT_RETRY_INTERVAL = "30s"
DEFAULT_RETRIES = 2
# A daily backup job pushes once a day; an hour of slack absorbs a slow run.
DEFAULT_BACKUP_PUSH_INTERVAL = "25h"

# Memory limits in MiB: Uptime Kuma is a Node.js server holding a few days of heartbeats in
# SQLite; AutoKuma is a small Rust program.
DEFAULT_MEMORY_MB = {"uptime-kuma": 384, "autokuma": 64}

NotificationChannel = Literal["slack", "email"]

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.-]+:(\d{1,5})$")
_HOST = re.compile(r"^[A-Za-z0-9_.-]+$")
_CRON_FIELD = r"[0-9*/,\-A-Za-z]+"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")


def _check_interval(value: str) -> str:
    if not MIN_INTERVAL_SECONDS <= seconds(value) <= MAX_INTERVAL_SECONDS:
        raise ValueError(f"must be between {MIN_INTERVAL_SECONDS}s and 24d (Uptime Kuma's limits)")
    if seconds(value) != int(seconds(value)):
        raise ValueError("must be a whole number of seconds")
    return value


def _check_tcp_target(value: str) -> str:
    match = _HOST_PORT.match(value)
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise ValueError("must be `host:port` with a port between 1 and 65535")
    return value


def _check_host(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError("must be a host name or an IP address")
    return value


def _check_cron(value: str) -> str:
    if not _CRON.match(value):
        raise ValueError("must be a five-field cron expression such as `0 3 * * 0`")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as UTC or Europe/Berlin") from None
    return value


Interval = Annotated[Duration, AfterValidator(_check_interval)]
"""A check interval Uptime Kuma accepts: whole seconds from 20s to 24d."""

TcpTarget = Annotated[str, AfterValidator(_check_tcp_target)]
"""`host:port` that a TCP monitor connects to."""

PingTarget = Annotated[str, AfterValidator(_check_host)]
"""A host name or address that a ping monitor sends ICMP echo requests to."""

Cron = Annotated[str, AfterValidator(_check_cron)]
"""A five-field cron expression."""

TimeZone = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA time zone name."""


class MonitorOverride(StrictModel):
    """Extra monitors and timings for one monitored service, keyed by its name."""

    tcp: TcpTarget | None = None
    """`host:port` to check with a TCP connect as well, such as `backend:8000`."""
    ping: PingTarget | None = None
    """Host to ping (ICMP) as well."""
    interval: Interval | None = None
    """Check interval of this service's monitors, instead of `status_page.interval`."""
    retries: int | None = Field(default=None, ge=0, le=MAX_RETRIES)
    """Failed checks before this service is down, instead of `status_page.retries`."""


class BackupPush(StrictModel):
    """The push monitor that the backup job calls after each successful run."""

    interval: Interval = DEFAULT_BACKUP_PUSH_INTERVAL
    """Longest expected gap between two pushes before the backup counts as missed."""
    retries: int = Field(default=0, ge=0, le=MAX_RETRIES)
    """Missed intervals tolerated before the monitor is down."""


class MaintenanceWindow(StrictModel):
    """A recurring maintenance window during which monitors do not alert."""

    title: str = Field(min_length=1, max_length=150)
    """Title shown on the status page during the window."""
    cron: Cron
    """When the window starts, as a five-field cron expression."""
    duration: Duration
    """How long the window lasts, in whole minutes such as `30m` or `2h`."""
    timezone: TimeZone = "UTC"
    """Time zone the cron expression is read in."""
    description: str = ""
    """Text shown on the status page during the window."""
    services: list[Slug] = Field(default_factory=list)
    """Services under maintenance; empty means every monitored service."""

    @model_validator(mode="after")
    def _whole_minutes(self) -> MaintenanceWindow:
        if seconds(self.duration) % 60 != 0:
            raise ValueError(f"duration must be whole minutes, got {self.duration!r}")
        return self

    @property
    def duration_minutes(self) -> int:
        """The length of the window in minutes."""
        return int(seconds(self.duration) // 60)


class StatusPageSettings(MemoryLimits):
    """Uptime Kuma, its monitors declared from `services`, and the public status page."""

    title: str = Field(default="Service status", min_length=1, max_length=150)
    """Title of the public status page."""
    slug: Slug = "status"
    """Path of the status page under the status host name (`/status/<slug>`)."""
    description: str = ""
    """Text under the title of the status page."""
    interval: Interval = DEFAULT_INTERVAL
    """How often every monitor checks its service."""
    retry_interval: Interval = DEFAULT_RETRY_INTERVAL
    """How often a failing monitor checks again before it declares the service down."""
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=MAX_RETRIES)
    """Failed checks in a row before a service is down and notifications go out."""
    notifications: list[NotificationChannel] | None = None
    """Channels monitors notify (`slack`, `email`); unset means every configured receiver."""
    monitors: dict[str, MonitorOverride] = Field(default_factory=dict)
    """Per-service extras (TCP, ping) and timings, keyed by a name from `services`."""
    backup_push: BackupPush = Field(default_factory=BackupPush)
    """The push monitor of the backup job (only when `components.backups` is on)."""
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    """Recurring maintenance windows."""
    admin_username: str = Field(default="admin", pattern=r"^[A-Za-z0-9_.-]{3,64}$")
    """Uptime Kuma's administrator, whose generated password AutoKuma logs in with."""
    memory_mb: dict[str, PositiveInt] = memory_mb_field(DEFAULT_MEMORY_MB)
    """Memory limits in MiB of `uptime-kuma` and `autokuma`."""

    @model_validator(mode="after")
    def _distinct_notifications(self) -> StatusPageSettings:
        if self.notifications is not None and len(set(self.notifications)) != len(
            self.notifications
        ):
            raise ValueError(f"notifications must not repeat a channel, got {self.notifications}")
        return self

    def check_against(self, services: Sequence[str], receivers: Sequence[str]) -> None:
        """Raise if a monitor, window or channel names a service or receiver that does not exist."""
        unknown = sorted(set(self.monitors) - set(services))
        if unknown:
            raise ValueError(
                f"status_page.monitors names unknown services {unknown}; known: {list(services)}"
            )

        for index, window in enumerate(self.maintenance):
            missing = sorted(set(window.services) - set(services))
            if missing:
                raise ValueError(
                    f"status_page.maintenance[{index}].services names unknown services "
                    f"{missing}; known: {list(services)}"
                )

        for channel in self.notifications or ():
            if channel not in receivers:
                raise ValueError(
                    f"status_page.notifications names {channel!r}, "
                    f"which receivers does not configure"
                )

    def channels(self, receivers: Sequence[str]) -> list[NotificationChannel]:
        """The channels monitors notify: the chosen ones, or every configured Slack and email."""
        if self.notifications is not None:
            return sorted(self.notifications)
        configured: list[NotificationChannel] = ["slack", "email"]
        return [channel for channel in sorted(configured) if channel in receivers]

    def override(self, service: str) -> MonitorOverride:
        """The extras and timings of one service, empty unless the settings give some."""
        return self.monitors.get(service, MonitorOverride())
