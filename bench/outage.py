"""How long an outage takes to page, and its end to resolve, with a stack's own timings.

Runs the stack's rendered Prometheus, rules, Blackbox Exporter and Alertmanager for real on
127.0.0.1 (only addresses change: targets map to loopback stand-ins, receivers post to a local
webhook), stops a service several times and prints the median seconds from the stop to the
firing notification and from the restart to the resolved one.

    .venv/bin/python -m bench.outage [--stack prod] [--service api] [--outages 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import plural
from config.base import seconds
from config.settings import Settings
from preview.harness import stack_settings
from tests.daemons import MetricsPipeline

SERVICE_DOWN = "ServiceDown"
DEFAULT_OUTAGES = 5
# The README's goal: half of all outages page within a minute.
GOAL_MEDIAN_FIRING_SECONDS = 60.0
# Headroom over the slowest path the timings allow, so a slow machine reports, never hangs.
MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Outage:
    """One stop and restart of a service, timed."""

    to_firing: float
    to_resolved: float


def firing_bound(settings: Settings) -> float:
    """The longest a stop may take to page: a probe, an evaluation, the `for`, the group wait."""
    return (
        seconds(settings.metrics.probe_interval)
        + 2 * seconds(settings.metrics.evaluation_interval)
        + seconds(settings.alerts.service_down_for)
        + seconds(settings.routing.critical_group_wait)
        + MARGIN_SECONDS
    )


def resolved_bound(settings: Settings) -> float:
    """The longest a restart may take to resolve: a probe, an evaluation, a group interval."""
    return (
        seconds(settings.metrics.probe_interval)
        + 2 * seconds(settings.metrics.evaluation_interval)
        + seconds(settings.routing.critical_group_interval)
        + MARGIN_SECONDS
    )


def firing_floor(settings: Settings) -> float:
    """The quickest a stop may page: probe and evaluation at once, then the `for` and group wait."""
    return seconds(settings.alerts.service_down_for) + seconds(settings.routing.critical_group_wait)


def resolved_floor(settings: Settings) -> float:
    """The quickest a restart may resolve here: the group's next notification after the firing."""
    return seconds(settings.routing.critical_group_interval)


def expected(settings: Settings) -> list[str]:
    """The lines explaining what each measurement is made of and the range it should fall in."""
    probe = seconds(settings.metrics.probe_interval)
    evaluations = 2 * seconds(settings.metrics.evaluation_interval)
    service_down_for = seconds(settings.alerts.service_down_for)
    group_wait = seconds(settings.routing.critical_group_wait)
    group_interval = seconds(settings.routing.critical_group_interval)
    firing = f"{firing_floor(settings):g}-{firing_bound(settings) - MARGIN_SECONDS:g}"
    resolved = f"{resolved_floor(settings):g}-{resolved_bound(settings) - MARGIN_SECONDS:g}"
    steps = f"probe 0-{probe:g} + 2 evaluations 0-{evaluations:g}"
    return [
        f"  expected from {settings.stack}'s settings, in seconds:",
        f"    firing    {firing:<8} {steps} + for {service_down_for:g} + group_wait {group_wait:g}",
        f"    resolved  {resolved:<8} {steps}, sent with the group's next notification,",
        f"    {'':<18} group_interval {group_interval:g} after the firing one "
        f"(the restart follows it at once)",
    ]


def row_label(label: str, outages: int) -> str:
    """A row's label, padded so that every row's figures line up."""
    return f"{label:<{len(f'outage {outages}/{outages}:')}}"


def measure(stack: str, service: str, outages: int, workdir: Path) -> list[Outage]:
    """Stop and restart `service` `outages` times; time each firing and resolved notification."""
    results = []
    with MetricsPipeline(stack, workdir) as pipeline:
        settings = pipeline.settings
        probe = seconds(settings.metrics.probe_interval)
        pipeline.wait_for_targets_up(timeout=3 * seconds(settings.metrics.scrape_interval) + 30)
        stand_in = pipeline.services[service]

        for number in range(1, outages + 1):
            # A random phase against the probe schedule, so the median covers every phase.
            time.sleep(random.uniform(0, probe))
            stopped_at = time.monotonic()
            stand_in.stop()
            try:
                firing = pipeline.webhook.wait_for(
                    SERVICE_DOWN, "firing", after=stopped_at, timeout=firing_bound(settings)
                )
            finally:
                stand_in.start()
            restarted_at = time.monotonic()
            resolved = pipeline.webhook.wait_for(
                SERVICE_DOWN, "resolved", after=restarted_at, timeout=resolved_bound(settings)
            )

            outage = Outage(firing.received_at - stopped_at, resolved.received_at - restarted_at)
            results.append(outage)
            print(
                f"  {row_label(f'outage {number}/{outages}:', outages)} "
                f"firing {outage.to_firing:5.1f} s after the stop, "
                f"resolved {outage.to_resolved:5.1f} s after the restart",
                flush=True,
            )
    return results


def report(stack: str = "prod", service: str = "api", outages: int = DEFAULT_OUTAGES) -> None:
    """Print what to expect, each outage, and the medians against the goal."""
    print(
        f"Outage to notification, {stack} timings, service {service}, {plural(outages, 'outage')}"
    )
    for line in expected(stack_settings(stack)):
        print(line)
    with tempfile.TemporaryDirectory(prefix="outage-") as workdir:
        results = measure(stack, service, outages, Path(workdir))

    firing = statistics.median(outage.to_firing for outage in results)
    resolved = statistics.median(outage.to_resolved for outage in results)
    verdict = "met" if firing < GOAL_MEDIAN_FIRING_SECONDS else "MISSED"
    print(
        f"  {row_label('median:', outages)} firing {firing:5.1f} s "
        f"(goal: under {GOAL_MEDIAN_FIRING_SECONDS:g} s, {verdict}), resolved {resolved:5.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--service", default="api")
    parser.add_argument("--outages", type=int, default=DEFAULT_OUTAGES)
    arguments = parser.parse_args()
    if arguments.outages < 1:
        parser.error(f"--outages must be at least 1, got {arguments.outages}")
    report(arguments.stack, arguments.service, arguments.outages)


if __name__ == "__main__":
    main()
