"""Alert rules: promtool accepts them, and `promtool test rules` proves when each alert fires.

Series are sampled at the stack's own intervals. Every check sits at least one interval away
from a moment where Prometheus 2.x and 3.x could disagree (a sample on a range window's edge).
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.metrics.render_rules import LOGGING_ROLES, METRICS_ROLES, RULES_PATH
from config import ConfigError
from config.base import seconds
from config.metrics import RATE_WINDOW_SCRAPES
from config.settings import Settings
from preview import Preview, run_preview
from preview.harness import stack_settings
from tests.conftest import DEPLOYED_STACKS, preview_of, real_tool

PROBE = "probe_success"
API_URL = "https://api.example.com/health"
START = 600.0
"""Every scenario changes at 10 minutes, after any range window has filled."""

CUSTOM_TIMINGS = {
    "metrics": {"scrape_interval": "30s", "evaluation_interval": "30s", "probe_interval": "20s"},
    "alerts": {
        "cpu_percent": 70,
        "cpu_for": "10m",
        "disk_free_percent": 10,
        "disk_for": "15m",
        "api_error_ratio": 0.02,
        "api_error_window": "10m",
        "api_error_for": "3m",
        "service_down_for": "1m",
    },
}
"""Settings far from the defaults, to show the rules follow them."""

SCENARIOS = [*((stack, {}) for stack in DEPLOYED_STACKS), ("staging", CUSTOM_TIMINGS)]
SCENARIO_IDS = [*DEPLOYED_STACKS, "staging-custom-timings"]


@dataclass
class RuleTest:
    """One `promtool test rules` case: series sampled every `interval` seconds, and checks.

    An `annotated` case compares annotations too; the others run against the rules without
    annotations, so that they can check an alert's timing where its value is still moving.
    """

    interval: float
    annotated: bool = False
    series: dict[str, list[float]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def firing(
        self,
        at: float,
        alert: str,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
    ) -> None:
        """At `at` seconds, `alert` fires once with exactly these labels (and annotations)."""
        expected: dict[str, Any] = {"exp_labels": labels}
        if annotations is not None:
            expected["exp_annotations"] = annotations
        self.checks.append({"eval_time": _ms(at), "alertname": alert, "exp_alerts": [expected]})

    def silent(self, at: float, alert: str) -> None:
        """At `at` seconds, `alert` does not fire."""
        self.checks.append({"eval_time": _ms(at), "alertname": alert, "exp_alerts": []})

    def document(self) -> dict[str, Any]:
        """The case as promtool reads it."""
        return {
            "interval": _ms(self.interval),
            "input_series": [
                {"series": name, "values": " ".join(_number(value) for value in values)}
                for name, values in self.series.items()
            ],
            "alert_rule_test": self.checks,
        }


def _ms(duration: float) -> str:
    return f"{round(duration * 1000)}ms"


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def without_annotations(rules: str) -> str:
    """The rule file with every annotation removed."""
    document = yaml.safe_load(rules)
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return yaml.safe_dump(document)


def run_rule_tests(
    rules: str, evaluation_interval: str, cases: list[RuleTest], tmp_path: Path
) -> None:
    """Run promtool's rule unit tests; fail with its report."""
    (tmp_path / "alerts.yml").write_text(rules)
    (tmp_path / "bare.yml").write_text(without_annotations(rules))
    files = []
    for rule_file, annotated in (("alerts.yml", True), ("bare.yml", False)):
        chosen = [case.document() for case in cases if case.annotated == annotated]
        if chosen:
            document = {
                "rule_files": [rule_file],
                "evaluation_interval": evaluation_interval,
                "tests": chosen,
            }
            files.append(f"tests-{rule_file}")
            (tmp_path / files[-1]).write_text(yaml.safe_dump(document, sort_keys=False))

    result = subprocess.run(
        [real_tool("promtool"), "test", "rules", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def rules_of(preview: Preview) -> str:
    """The alert rule file as the preview's Prometheus container receives it."""
    return preview.file(f"{preview.stack}-prometheus", RULES_PATH)


def scenario(stack: str, overrides: dict[str, Any]) -> tuple[str, Settings]:
    """The rendered rules and the settings of a stack with some sections replaced."""
    return _scenario(stack, json.dumps(overrides, sort_keys=True))


@functools.cache
def _scenario(stack: str, overrides_json: str) -> tuple[str, Settings]:
    overrides = json.loads(overrides_json)
    preview = run_preview(stack, overrides=overrides) if overrides else preview_of(stack)
    return rules_of(preview), stack_settings(stack, overrides)


def sampled(until: float, interval: float, value_at: Any) -> list[float]:
    """A series' values every `interval` seconds from 0 to `until`."""
    return [value_at(step * interval) for step in range(int(until // interval) + 1)]


def counter(until: float, interval: float, rate_at: Any) -> list[float]:
    """A counter's values every `interval` seconds, growing at `rate_at(t)` per second."""
    values, total = [], 0.0
    for step in range(int(until // interval) + 1):
        if step:
            total += rate_at(step * interval) * interval
        values.append(total)
    return values


def every(start: float, end: float, step: float) -> list[float]:
    """Check times from `start` to `end`, `step` apart."""
    return [start + step * index for index in range(int((end - start) // step) + 1)]


def _aligned(duration: float, interval: float) -> float:
    return max(interval, interval * (duration // interval))


@dataclass(frozen=True)
class Timing:
    """When an alert must fire, given when its condition starts to hold (give or take)."""

    evaluation: float
    hold: float

    def _next(self, moment: float) -> float:
        return self.evaluation * math.ceil(moment / self.evaluation - 1e-9)

    def last_silent(self, earliest_condition: float) -> float:
        """The last evaluation before the alert can possibly fire."""
        return self._next(self._next(earliest_condition) + self.hold) - self.evaluation

    def first_firing(self, latest_condition: float) -> float:
        """The first evaluation at which the alert must be firing."""
        return self._next(self._next(latest_condition) + self.hold)


def expect_on_time(
    case: RuleTest,
    alert: str,
    labels: dict[str, str],
    timing: Timing,
    condition: float,
    slack: float,
) -> None:
    """Silent until the condition (at `condition`, give or take `slack`) held for `for`; then
    firing."""
    case.silent(timing.last_silent(condition - slack), alert)
    case.firing(timing.first_firing(condition + slack), alert, labels)


# The four alerts the operators asked for.


def high_cpu_cases(settings: Settings) -> list[RuleTest]:
    """CPU above the threshold fires after `cpu_for`; a burst half as long never does."""
    scrape = seconds(settings.metrics.scrape_interval)
    evaluation = seconds(settings.metrics.evaluation_interval)
    window = RATE_WINDOW_SCRAPES * scrape
    timing = Timing(evaluation, seconds(settings.alerts.cpu_for))
    threshold = settings.alerts.cpu_percent
    busy = (threshold + 100) / 2 / 100
    burst = _aligned(timing.hold / 2, scrape)
    end = START + timing.hold + window + 4 * evaluation + 300
    name = 'node_cpu_seconds_total{job="node-exporter",instance="host",cpu="0",mode="idle"}'
    labels = {"severity": "warning", "job": "node-exporter", "instance": "host"}
    annotations = {
        "summary": f"CPU busy above {threshold:g}% on host",
        "description": (
            f"CPU is {busy * 100:.0f}% busy, above {threshold:g}% "
            f"for at least {settings.alerts.cpu_for}."
        ),
    }
    values = counter(end, scrape, lambda t: 1 - busy if t > START else 1)

    # The busy share of the window passes the threshold once this much of it is busy.
    crossing = START + window * threshold / 100 / busy
    on_time = RuleTest(scrape, series={name: values})
    expect_on_time(on_time, "HostHighCpu", labels, timing, crossing, scrape)

    steady = RuleTest(scrape, annotated=True, series={name: values})
    steady.firing(START + window + timing.hold + 2 * evaluation, "HostHighCpu", labels, annotations)

    short = RuleTest(scrape)
    short.series[name] = counter(
        end, scrape, lambda t: 1 - busy if START < t <= START + burst else 1
    )
    for at in every(START, end, evaluation):
        short.silent(at, "HostHighCpu")
    return [on_time, steady, short]


def disk_free_cases(settings: Settings) -> list[RuleTest]:
    """Free disk below the threshold fires after `disk_for`; a dip half as long never does."""
    scrape = seconds(settings.metrics.scrape_interval)
    evaluation = seconds(settings.metrics.evaluation_interval)
    timing = Timing(evaluation, seconds(settings.alerts.disk_for))
    threshold = settings.alerts.disk_free_percent
    size = 100e9
    low = size * threshold / 2 / 100
    dip = _aligned(timing.hold / 2, scrape)
    end = START + timing.hold + 4 * evaluation + 300
    filesystem = (
        'job="node-exporter",instance="host",device="/dev/sda1",fstype="ext4",mountpoint="/"'
    )
    available = f"node_filesystem_avail_bytes{{{filesystem}}}"
    total = f"node_filesystem_size_bytes{{{filesystem}}}"
    labels = {
        "severity": "critical",
        "job": "node-exporter",
        "instance": "host",
        "device": "/dev/sda1",
        "fstype": "ext4",
        "mountpoint": "/",
    }
    annotations = {
        "summary": f"Less than {threshold:g}% free on / of host",
        "description": (
            f"/ has {threshold / 2:.1f}% free, below {threshold:g}% "
            f"for at least {settings.alerts.disk_for}."
        ),
    }

    sustained = RuleTest(scrape, annotated=True)
    sustained.series[available] = sampled(end, scrape, lambda t: low if t >= START else size / 2)
    sustained.series[total] = sampled(end, scrape, lambda t: size)
    sustained.silent(timing.last_silent(START), "HostDiskFreeLow")
    sustained.firing(timing.first_firing(START), "HostDiskFreeLow", labels, annotations)

    short = RuleTest(scrape)
    short.series[available] = sampled(
        end, scrape, lambda t: low if START <= t < START + dip else size / 2
    )
    short.series[total] = sampled(end, scrape, lambda t: size)
    for at in every(START - evaluation, end, evaluation):
        short.silent(at, "HostDiskFreeLow")
    return [sustained, short]


def api_error_cases(settings: Settings) -> list[RuleTest]:
    """5xx above the ratio over the window fires after `api_error_for`; a short burst does not.

    During the burst twice the allowed share of responses fail, so the ratio over the window
    stays above the threshold for about as long as the burst lasts: half of `api_error_for`.
    """
    alerts = settings.alerts
    scrape = seconds(settings.metrics.scrape_interval)
    evaluation = seconds(settings.metrics.evaluation_interval)
    window = seconds(alerts.api_error_window)
    timing = Timing(evaluation, seconds(alerts.api_error_for))
    ratio = alerts.api_error_ratio
    failing = min(4 * ratio, (1 + ratio) / 2)
    burst = _aligned(timing.hold / 2, scrape)
    start = max(START, 2 * window)
    end = start + timing.hold + window + 4 * evaluation + 300
    requests_per_second = 10.0
    job = alerts.api_service
    series = (
        f'http_requests_total{{{{job="{job}",instance="{job}",handler="/items",method="GET",'
        'status="{status}"}}'
    )
    ok, failed = series.format(status="2xx"), series.format(status="5xx")
    labels = {"severity": "critical", "job": job, "instance": job}
    percent = f"{round(ratio * 100, 6):g}%"
    annotations = {
        "summary": f"{job} answers 5xx to more than {percent} of requests",
        "description": (
            f"{failing * 100:.4g}% of the responses of {job} over the last "
            f"{alerts.api_error_window} were 5xx, above {percent} for at least "
            f"{alerts.api_error_for}."
        ),
    }

    def responses(share: float, until: float = math.inf) -> dict[str, list[float]]:
        def failed_share(t: float) -> float:
            return share if start < t <= start + until else 0.0

        return {
            ok: counter(end, scrape, lambda t: requests_per_second * (1 - failed_share(t))),
            failed: counter(end, scrape, lambda t: requests_per_second * failed_share(t)),
        }

    # The ratio over the window passes the threshold once this much of the window is failing.
    crossing = start + window * ratio / failing
    on_time = RuleTest(scrape, series=responses(failing))
    expect_on_time(on_time, "ApiHighErrorRatio", labels, timing, crossing, scrape)

    steady = RuleTest(scrape, annotated=True, series=responses(failing))
    steady.firing(
        start + window + timing.hold + 2 * evaluation, "ApiHighErrorRatio", labels, annotations
    )

    short = RuleTest(scrape, series=responses(2 * ratio, burst))
    for at in every(start, end, evaluation):
        short.silent(at, "ApiHighErrorRatio")
    return [on_time, steady, short]


def service_down_cases(settings: Settings) -> list[RuleTest]:
    """A health URL failing for `service_down_for` fires; failures lasting less never do."""
    probe = seconds(settings.metrics.probe_interval)
    evaluation = seconds(settings.metrics.evaluation_interval)
    timing = Timing(evaluation, seconds(settings.alerts.service_down_for))
    end = START + timing.hold + 4 * max(evaluation, probe) + 300
    name = f'{PROBE}{{job="probe",instance="api",url="{API_URL}"}}'
    labels = {"severity": "critical", "job": "probe", "instance": "api", "url": API_URL}
    annotations = {
        "summary": "api is down",
        "description": (
            f"Every probe of {API_URL} has failed for at least {settings.alerts.service_down_for}."
        ),
    }

    sustained = RuleTest(probe, annotated=True)
    sustained.series[name] = sampled(end, probe, lambda t: 0 if t >= START else 1)
    sustained.silent(timing.last_silent(START), "ServiceDown")
    sustained.firing(timing.first_firing(START), "ServiceDown", labels, annotations)

    # The longest run of failed probes whose recovery arrives before `service_down_for`.
    failures = math.ceil(timing.hold / probe) - 1
    short = RuleTest(probe)
    short.series[name] = sampled(
        end, probe, lambda t: 0 if START <= t < START + failures * probe else 1
    )
    for at in every(START - evaluation, end, evaluation):
        short.silent(at, "ServiceDown")
    return [sustained, short]


@pytest.mark.parametrize(("stack", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_the_four_requested_alerts_fire_on_time_and_never_on_a_shorter_blip(
    stack: str, overrides: dict[str, Any], tmp_path: Path
) -> None:
    """High CPU, low disk, API 5xx ratio and a down service: on time, never on a blip."""
    rules, settings = scenario(stack, overrides)
    cases = [
        *high_cpu_cases(settings),
        *disk_free_cases(settings),
        *api_error_cases(settings),
        *service_down_cases(settings),
    ]

    run_rule_tests(rules, settings.metrics.evaluation_interval, cases, tmp_path)


@pytest.mark.parametrize(("stack", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_a_single_failed_probe_never_alerts(
    stack: str, overrides: dict[str, Any], tmp_path: Path
) -> None:
    """One failed probe, even with the next probe half an interval late, leaves ServiceDown
    silent at every evaluation."""
    rules, settings = scenario(stack, overrides)
    probe = seconds(settings.metrics.probe_interval)
    evaluation = seconds(settings.metrics.evaluation_interval)
    end = START + seconds(settings.alerts.service_down_for) + 600
    # Sampled every half interval, the failed result stays the latest one for 1.5 intervals.
    case = RuleTest(probe / 2)
    case.series[f'{PROBE}{{job="probe",instance="api",url="{API_URL}"}}'] = sampled(
        end, probe / 2, lambda t: 0 if START <= t < START + 1.5 * probe else 1
    )
    for at in every(START - evaluation, end, evaluation):
        case.silent(at, "ServiceDown")

    run_rule_tests(rules, settings.metrics.evaluation_interval, [case], tmp_path)


# The rest of the catalogue: each alert fires on a plain example, with severity and instance.


def catalogue_cases(settings: Settings, prometheus_config: dict[str, Any]) -> list[RuleTest]:
    """One firing example of every alert besides the four above."""
    step = seconds(settings.metrics.scrape_interval)
    stack = settings.stack
    node = 'job="node-exporter",instance="host"'
    filesystem = f'{node},device="/dev/sda1",fstype="ext4",mountpoint="/"'
    cadvisor = 'job="cadvisor",instance="cadvisor:8080"'
    container = f'{cadvisor},name="{stack}-grafana",id="/docker/0123"'
    probe = f'job="probe",instance="api",url="{API_URL}"'
    prometheus = 'job="prometheus",instance="prometheus:9090"'
    alertmanager = 'job="alertmanager",instance="alertmanager:9093"'
    roles = METRICS_ROLES + (LOGGING_ROLES if settings.components.logging else ())

    def case(alert: str, at: float, labels: dict[str, str], **series: Any) -> RuleTest:
        test = RuleTest(step)
        for name, values in series.items():
            test.series[name] = values(at + 300)
        test.firing(at, alert, labels, None)
        return test

    def constant(value: float) -> Any:
        return lambda until: sampled(until, step, lambda t: value)

    def growing(rate: float) -> Any:
        return lambda until: counter(until, step, lambda t: rate)

    seen = {
        f'container_last_seen{{{cadvisor},container_label_observability_stack="{stack}",'
        f'container_label_observability_role="{role}"}}': constant(1e9)
        for role in roles
        if role != "grafana"
    }
    targets = [
        (job["job_name"], group.get("labels", {}).get("instance", target))
        for job in prometheus_config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    ]
    up = {f'up{{job="{job}",instance="{instance}"}}': constant(1) for job, instance in targets}
    missing_job, missing_instance = targets[-1]
    del up[f'up{{job="{missing_job}",instance="{missing_instance}"}}']

    return [
        case(
            "HostHighMemory",
            seconds(settings.alerts.memory_for) + 120,
            {"severity": "warning", "job": "node-exporter", "instance": "host"},
            **{
                f"node_memory_MemAvailable_bytes{{{node}}}": constant(2e9),
                f"node_memory_MemTotal_bytes{{{node}}}": constant(100e9),
            },
        ),
        case(
            "HostDiskFillingUp",
            3600 + 300,
            {
                "severity": "warning",
                "job": "node-exporter",
                "instance": "host",
                "device": "/dev/sda1",
                "fstype": "ext4",
                "mountpoint": "/",
            },
            **{
                f"node_filesystem_avail_bytes{{{filesystem}}}": lambda until: sampled(
                    until, step, lambda t: 30e9 - 1e6 * t
                ),
                f"node_filesystem_size_bytes{{{filesystem}}}": constant(100e9),
            },
        ),
        case(
            "NodeExporterDown",
            600,
            {"severity": "critical", "job": "node-exporter", "instance": "host"},
            **{f"up{{{node}}}": constant(0)},
        ),
        case(
            "ContainerMemoryNearLimit",
            600,
            {
                "severity": "warning",
                "job": "cadvisor",
                "name": f"{stack}-grafana",
                "instance": f"{stack}-grafana",
            },
            **{
                f"container_memory_working_set_bytes{{{container}}}": constant(99e6),
                f"container_spec_memory_limit_bytes{{{container}}}": constant(100e6),
            },
        ),
        case(
            "ContainerRestarting",
            600,
            {
                "severity": "warning",
                "job": "cadvisor",
                "name": f"{stack}-grafana",
                "instance": f"{stack}-grafana",
            },
            **{
                f"container_cpu_usage_seconds_total{{{container}}}": lambda until: sampled(
                    until, step, lambda t: (t // step) % 4
                )
            },
        ),
        case(
            "ContainerAbsent",
            600,
            {
                "severity": "warning",
                "job": "cadvisor",
                "container_label_observability_stack": stack,
                "container_label_observability_role": "grafana",
                "instance": f"{stack}-grafana",
            },
            **seen,
            **{f"up{{{cadvisor}}}": constant(1)},
        ),
        case(
            "ProbeFlapping",
            600,
            {"severity": "warning", "job": "probe", "instance": "api", "url": API_URL},
            **{
                f"{PROBE}{{{probe}}}": lambda until: sampled(until, step, lambda t: (t // step) % 2)
            },
        ),
        case(
            "ProbeSlow",
            seconds(settings.alerts.probe_slow_for) + 120,
            {"severity": "warning", "job": "probe", "instance": "api", "url": API_URL},
            **{
                f"probe_duration_seconds{{{probe}}}": constant(
                    settings.alerts.probe_slow_seconds + 1
                )
            },
        ),
        case(
            "TlsCertificateExpiring",
            1800,
            {"severity": "warning", "job": "probe", "instance": "api", "url": API_URL},
            **{
                f"probe_ssl_earliest_cert_expiry{{{probe}}}": constant(
                    (settings.alerts.tls_expiry_days - 1) * 86400
                )
            },
        ),
        case(
            "TargetDown",
            900,
            {"severity": "warning", "job": "grafana", "instance": "grafana:3000"},
            **{'up{job="grafana",instance="grafana:3000"}': constant(0)},
        ),
        case(
            "TargetMissing",
            900,
            {"severity": "warning", "job": missing_job, "instance": missing_instance},
            **up,
        ),
        case(
            "BlackboxExporterDown",
            600,
            {"severity": "critical", "job": "blackbox", "instance": "blackbox:9115"},
            **{'up{job="blackbox",instance="blackbox:9115"}': constant(0)},
        ),
        case(
            "PrometheusRuleEvaluationFailures",
            900,
            {
                "severity": "critical",
                "job": "prometheus",
                "instance": "prometheus:9090",
                "rule_group": "alerts.yml;api",
            },
            **{
                "prometheus_rule_evaluation_failures_total"
                f'{{{prometheus},rule_group="alerts.yml;api"}}': growing(0.1)
            },
        ),
        case(
            "PrometheusNotificationsFailing",
            900,
            {"severity": "critical", "job": "prometheus", "instance": "prometheus:9090"},
            **{
                "prometheus_notifications_errors_total"
                f'{{{prometheus},alertmanager="http://alertmanager:9093/api/v2/alerts"}}': growing(
                    0.1
                )
            },
        ),
        case(
            "PrometheusConfigReloadFailed",
            1800,
            {"severity": "warning", "job": "prometheus", "instance": "prometheus:9090"},
            **{f"prometheus_config_last_reload_successful{{{prometheus}}}": constant(0)},
        ),
        case(
            "PrometheusTsdbCompactionsFailing",
            900,
            {"severity": "warning", "job": "prometheus", "instance": "prometheus:9090"},
            **{
                f"prometheus_tsdb_compactions_failed_total{{{prometheus}}}": lambda until: sampled(
                    until, step, lambda t: 0 if t < 300 else 1
                )
            },
        ),
        case(
            "AlertmanagerNotificationsFailing",
            900,
            {
                "severity": "critical",
                "job": "alertmanager",
                "instance": "alertmanager:9093",
                "integration": "slack",
            },
            **{
                "alertmanager_notifications_failed_total"
                f'{{{alertmanager},integration="slack",reason="other"}}': growing(0.1)
            },
        ),
        case(
            "AlertmanagerConfigReloadFailed",
            1800,
            {"severity": "warning", "job": "alertmanager", "instance": "alertmanager:9093"},
            **{f"alertmanager_config_last_reload_successful{{{alertmanager}}}": constant(0)},
        ),
        case("Watchdog", 60, {"severity": "none", "instance": "prometheus:9090"}),
    ]


REQUESTED = {"HostHighCpu", "HostDiskFreeLow", "ApiHighErrorRatio", "ServiceDown"}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_other_alert_fires_on_an_example_with_severity_and_instance(
    stack: str, tmp_path: Path
) -> None:
    """Each alert of the catalogue fires on a plain example, carrying severity and instance."""
    preview = preview_of(stack)
    settings = stack_settings(stack)
    config = yaml.safe_load(preview.file(f"{stack}-prometheus", "/etc/prometheus/prometheus.yml"))
    cases = catalogue_cases(settings, config)
    # Annotations are checked by the tests of the four requested alerts; here only labels.
    document = yaml.safe_load(rules_of(preview))
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    names = {rule["alert"] for group in document["groups"] for rule in group["rules"]}

    assert {check["alertname"] for case in cases for check in case.checks} == names - REQUESTED
    # A coarser evaluation keeps the hour-long examples quick; every check leaves room for it.
    run_rule_tests(yaml.safe_dump(document), "1m", cases, tmp_path)


# Static properties of the rule file.


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_promtool_accepts_the_rule_file(stack: str, tmp_path: Path) -> None:
    """`promtool check rules` passes on the file the Prometheus container receives."""
    path = tmp_path / "alerts.yml"
    path.write_text(rules_of(preview_of(stack)))

    result = subprocess.run(
        [real_tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_alert_has_a_severity_a_summary_and_a_description(stack: str) -> None:
    """Critical or warning (the Watchdog: none), with both annotations filled."""
    document = yaml.safe_load(rules_of(preview_of(stack)))

    for group in document["groups"]:
        for rule in group["rules"]:
            expected = {"none"} if rule["alert"] == "Watchdog" else {"critical", "warning"}
            assert rule["labels"]["severity"] in expected, rule["alert"]
            assert rule["annotations"]["summary"].strip(), rule["alert"]
            assert rule["annotations"]["description"].strip(), rule["alert"]


RANGE = re.compile(r"\{([^{}]*)\}\[(\w+)\]")


@pytest.mark.parametrize(("stack", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_every_range_window_spans_at_least_four_scrape_intervals_of_its_job(
    stack: str, overrides: dict[str, Any]
) -> None:
    """Each `[window]` in the rules covers four scrapes of the job its selector names."""
    rules, settings = scenario(stack, overrides)
    expressions = [
        rule["expr"] for group in yaml.safe_load(rules)["groups"] for rule in group["rules"]
    ]

    checked = 0
    for expr in expressions:
        assert expr.count("[") == len(RANGE.findall(expr)), f"a range without matchers: {expr}"
        for matchers, window in RANGE.findall(expr):
            job = re.search(r'job="([^"]+)"', matchers)
            assert job is not None, f"a range without a job: {expr}"
            interval = (
                settings.metrics.probe_interval
                if job.group(1) == "probe"
                else settings.metrics.scrape_interval
            )
            assert seconds(window) >= RATE_WINDOW_SCRAPES * seconds(interval), expr
            checked += 1
    assert checked >= 8


def test_the_api_alert_reads_the_configured_service_and_window() -> None:
    """`alerts.api_service` names the job and `alerts.api_error_window` the rate window."""
    services = [
        {
            "name": "backend",
            "health_url": "https://api.example.com/health",
            "metrics_target": "backend:8000",
        },
        {"name": "web", "health_url": "https://app.example.com/"},
    ]
    preview = run_preview(
        "staging",
        overrides={
            "services": services,
            "alerts": {"api_service": "backend", "api_error_window": "2m"},
        },
    )

    (api,) = [
        rule
        for group in yaml.safe_load(rules_of(preview))["groups"]
        for rule in group["rules"]
        if rule["alert"] == "ApiHighErrorRatio"
    ]
    assert 'http_requests_total{job="backend",status=~"5.."}[2m]' in api["expr"]
    assert 'http_requests_total{job="backend"}[2m]' in api["expr"]


def test_the_rule_file_is_byte_for_byte_the_same_on_every_run() -> None:
    """Same settings, same file."""
    assert rules_of(run_preview("prod")) == rules_of(preview_of("prod"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"alerts": {"api_error_window": "30s"}},
            r"^observability:alerts\.api_error_window must span at least 4 scrape intervals "
            r"\(4 x 15s = 60s\), got 30s$",
        ),
        (
            {"metrics": {"scrape_interval": "2m"}},
            r"^observability:alerts\.api_error_window must span at least 4 scrape intervals "
            r"\(4 x 2m = 480s\), got 5m$",
        ),
        (
            {"alerts": {"service_down_for": "15s"}},
            r"^observability:alerts\.service_down_for must span at least 2 probe intervals "
            r"\(2 x 15s = 30s\) so that one failed probe never alerts, got 15s$",
        ),
        (
            {"metrics": {"probe_interval": "1m"}},
            r"^observability:alerts\.service_down_for must span at least 2 probe intervals "
            r"\(2 x 1m = 120s\) so that one failed probe never alerts, got 30s$",
        ),
        (
            {"metrics": {"probe_interval": "500ms"}},
            r"^observability:metrics\.probe_interval must be at least 1s, got 500ms$",
        ),
        (
            {"alerts": {"cpu_percent": 180}},
            r"^observability:alerts\.cpu_percent must be between 1 and 100, got 180$",
        ),
        (
            {"alerts": {"api_error_ratio": 1.5}},
            r"^observability:alerts\.api_error_ratio must be greater than 0 and less than 1",
        ),
        (
            {"alerts": {"cpu_for": "soon"}},
            r"^observability:alerts\.cpu_for must be a positive duration",
        ),
    ],
    ids=[
        "rate-window-shorter-than-four-scrapes",
        "scrape-interval-longer-than-a-quarter-window",
        "service-down-within-one-probe",
        "probe-interval-too-long-for-service-down",
        "probe-interval-below-a-second",
        "cpu-percent-above-100",
        "error-ratio-above-1",
        "cpu-for-not-a-duration",
    ],
)
def test_alert_timings_the_intervals_cannot_support_are_rejected(
    overrides: dict[str, Any], message: str
) -> None:
    """The message names the key, the rule and the value."""
    with pytest.raises(ConfigError, match=message):
        stack_settings("staging", overrides)
