"""prod's rendered Prometheus, rules, Blackbox and Alertmanager, run for real on 127.0.0.1.

Only addresses and timings change: targets map to loopback stand-ins, receivers post to a local
webhook, and every interval, `for` and Alertmanager timing of prod is divided by SPEEDUP so the
ratios between them (and so the behaviour) stay prod's. A heartbeat URL is set so the Watchdog's
route can be watched too.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.base import seconds
from tests.daemons import MetricsPipeline, wait_until

pytestmark = pytest.mark.e2e

STACK = "prod"
SERVICE = "api"
SERVICE_DOWN = "ServiceDown"
SPEEDUP = 15
"""prod's 15 s probes become 1 s probes; its 30 s `for` becomes 2 s."""

HEARTBEAT_URL = "https://heartbeat.example.com/ping"
STARTUP_TIMEOUT = 20.0
NOTIFICATION_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsPipeline]:
    """The running pipeline; its daemons are stopped by pid when the module's tests end."""
    workdir: Path = tmp_path_factory.mktemp("end-to-end")
    changes = {"routing": {"heartbeat_url": HEARTBEAT_URL}}
    with MetricsPipeline(STACK, workdir, speedup=SPEEDUP, changes=changes) as running:
        running.wait_for_targets_up(timeout=STARTUP_TIMEOUT)
        wait_until(
            lambda: running.query(f'probe_success{{instance="{SERVICE}"}} == 1'),
            timeout=STARTUP_TIMEOUT,
            what=f"a successful probe of {SERVICE}",
        )
        yield running


def test_a_single_failed_probe_never_alerts(pipeline: MetricsPipeline) -> None:
    """One failed health check is recorded by Prometheus yet never reaches a receiver."""
    service = pipeline.services[SERVICE]
    settings = pipeline.settings
    since = time.monotonic()

    service.fail_next_health_checks(1)
    wait_until(lambda: service.failures_left == 0, timeout=10, what="the failed health check")
    wait_until(
        lambda: pipeline.query(f'min_over_time(probe_success{{instance="{SERVICE}"}}[1m]) == 0'),
        timeout=10,
        what="Prometheus to record the failed probe",
    )
    # Longer than the `for`, the critical group wait and a few evaluations together.
    time.sleep(
        seconds(settings.alerts.service_down_for)
        + seconds(settings.routing.critical_group_wait)
        + 3 * seconds(settings.metrics.evaluation_interval)
    )

    fired = pipeline.query(f'ALERTS{{alertname="{SERVICE_DOWN}", alertstate="firing"}}[1m]')
    notified = [
        notification
        for notification in pipeline.webhook.received()
        if notification.received_at >= since and SERVICE_DOWN in notification.names("firing")
    ]
    assert fired == []
    assert notified == []


def test_a_stopped_service_pages_and_its_return_resolves_the_alert(
    pipeline: MetricsPipeline,
) -> None:
    """Stopping the service fires ServiceDown to every critical receiver; restarting resolves."""
    service = pipeline.services[SERVICE]
    webhook = pipeline.webhook

    stopped_at = time.monotonic()
    service.stop()
    try:
        firing = {
            receiver: webhook.wait_for(
                SERVICE_DOWN,
                "firing",
                after=stopped_at,
                timeout=NOTIFICATION_TIMEOUT,
                receiver=receiver,
            )
            for receiver in pipeline.settings.routing.critical
        }
    finally:
        service.start()
    restarted_at = time.monotonic()
    resolved = webhook.wait_for(
        SERVICE_DOWN, "resolved", after=restarted_at, timeout=NOTIFICATION_TIMEOUT
    )

    for notification in firing.values():
        (alert,) = [a for a in notification.alerts if a["labels"]["alertname"] == SERVICE_DOWN]
        assert alert["labels"]["instance"] == SERVICE
        assert alert["labels"]["severity"] == "critical"
    assert sorted(firing) == sorted(["pagerduty", "slack", "email"])
    assert resolved.status == "resolved"


def test_the_watchdog_beats_once_every_heartbeat_interval(pipeline: MetricsPipeline) -> None:
    """The always-firing Watchdog reaches the heartbeat receiver again every interval, not every
    second interval."""
    interval = seconds(pipeline.settings.routing.heartbeat_interval)

    def three_beats() -> list[float] | None:
        beats = [
            notification.received_at
            for notification in pipeline.webhook.received()
            if notification.receiver == "heartbeat" and "Watchdog" in notification.names("firing")
        ]
        return beats if len(beats) >= 3 else None

    beats = wait_until(three_beats, timeout=4 * interval + STARTUP_TIMEOUT, what="three beats")
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]

    assert all(0.75 * interval <= gap <= 1.5 * interval for gap in gaps), gaps
