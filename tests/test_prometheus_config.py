"""prometheus.yml and Prometheus's flags: promtool accepts them and they scrape what they should."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.metrics.render_prometheus import CONFIG_PATH, RULE_FILES, RULES_DIR
from config import ConfigError
from preview import Preview, run_preview
from preview.harness import stack_settings
from tests.conftest import DEPLOYED_STACKS, preview_of, real_tool, write_files

KEYWORD_SERVICES = [
    {
        "name": "api",
        "health_url": "https://api.example.com/health",
        "metrics_target": "backend:8000",
        "metrics_path": "/internal/metrics",
        "keyword": "ok",
    },
    {"name": "web", "health_url": "https://app.example.com/", "expected_status": 301},
    {"name": "docs", "health_url": "https://docs.example.com/"},
]


def prometheus_yml(preview: Preview) -> dict[str, Any]:
    """prometheus.yml as the preview's Prometheus container receives it."""
    return yaml.safe_load(preview.file(f"{preview.stack}-prometheus", CONFIG_PATH))


def jobs(preview: Preview) -> dict[str, dict[str, Any]]:
    """The scrape configs of the preview's Prometheus, by job name."""
    return {job["job_name"]: job for job in prometheus_yml(preview)["scrape_configs"]}


def targets(job: dict[str, Any]) -> list[str]:
    """Every static target of a scrape config."""
    return [target for group in job["static_configs"] for target in group["targets"]]


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_promtool_accepts_the_config_and_every_rule_file_it_reads(
    stack: str, tmp_path: Path
) -> None:
    """`promtool check config` passes on the files the container receives, rules included."""
    preview = preview_of(stack)
    root = write_files(preview, f"{stack}-prometheus", tmp_path)
    config = root / CONFIG_PATH.lstrip("/")
    # promtool resolves the rule glob on this machine: point it at the written copies.
    config.write_text(config.read_text().replace("/etc/prometheus/", f"{root}/etc/prometheus/"))

    result = subprocess.run(
        [real_tool("promtool"), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid prometheus config file syntax" in result.stdout
    rule_files = sorted((root / RULES_DIR.lstrip("/")).glob("*.yml"))
    assert rule_files
    for rule_file in rule_files:
        assert f"Checking {rule_file}" in result.stdout


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_prometheus_scrapes_itself_the_host_the_containers_and_every_service(stack: str) -> None:
    """Each role by its network alias, Node Exporter on the host's stack-network address."""
    scraped = {name: targets(job) for name, job in jobs(preview_of(stack)).items()}
    settings = stack_settings(stack)

    assert scraped == {
        "prometheus": ["prometheus:9090"],
        "node-exporter": ["172.30.0.1:9100"],
        "cadvisor": ["cadvisor:8080"],
        "alertmanager": ["alertmanager:9093"],
        "grafana": ["grafana:3000"],
        "blackbox": ["blackbox:9115"],
        "loki": ["loki:3100"],
        "alloy": ["alloy:12345"],
        "pushgateway": ["pushgateway:9091"],
        "probe": [service.health_url for service in settings.services],
        "api": ["backend:8000"],
    }


def test_node_exporter_is_scraped_on_the_gateway_of_the_configured_subnet() -> None:
    """Another subnet moves the host's address, and the target with it."""
    ports = stack_settings("staging").ports.model_dump(mode="json")
    preview = run_preview("staging", overrides={"ports": {**ports, "subnet": "10.20.30.0/24"}})

    assert targets(jobs(preview)["node-exporter"]) == ["10.20.30.1:9100"]


def test_loki_and_alloy_are_scraped_only_when_logging_is_on() -> None:
    """Turning logging off drops their jobs."""
    preview = run_preview("staging", overrides={"components": {"logging": False}})

    assert {"loki", "alloy"}.isdisjoint(jobs(preview))
    assert {"prometheus", "node-exporter", "cadvisor", "probe"} <= set(jobs(preview))


def test_every_service_with_metrics_gets_a_job_named_after_it() -> None:
    """The job scrapes `metrics_target` at `metrics_path`; its instance is the service's name."""
    preview = run_preview("staging", overrides={"services": KEYWORD_SERVICES})

    api = jobs(preview)["api"]
    assert api["metrics_path"] == "/internal/metrics"
    assert api["static_configs"] == [{"targets": ["backend:8000"], "labels": {"instance": "api"}}]
    assert "web" not in jobs(preview)
    assert "docs" not in jobs(preview)


def test_every_health_url_is_probed_through_the_blackbox_exporter_with_its_own_module() -> None:
    """The target becomes the probe's `target` parameter; the module exists in blackbox.yml."""
    preview = run_preview("staging", overrides={"services": KEYWORD_SERVICES})
    probe = jobs(preview)["probe"]
    modules = yaml.safe_load(preview.file("staging-blackbox", "/etc/blackbox_exporter/config.yml"))[
        "modules"
    ]

    assert probe["metrics_path"] == "/probe"
    assert probe["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"target_label": "__address__", "replacement": "blackbox:9115"},
    ]
    groups = {group["labels"]["instance"]: group for group in probe["static_configs"]}
    assert {name: group["labels"]["__param_module"] for name, group in groups.items()} == {
        "api": "http_api",
        "web": "http_web",
        "docs": "http_2xx",
    }
    for service in KEYWORD_SERVICES:
        group = groups[service["name"]]
        assert group["targets"] == [service["health_url"]]
        assert group["labels"]["url"] == service["health_url"]
        assert group["labels"]["__param_module"] in modules


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_probes_run_at_the_probe_interval_within_a_scrape_timeout(stack: str) -> None:
    """The probe job has its own interval; its timeout never exceeds it."""
    preview = run_preview(stack, overrides={"metrics": {"probe_interval": "5s"}})

    probe = jobs(preview)["probe"]
    assert probe["scrape_interval"] == "5s"
    assert probe["scrape_timeout"] == "5s"
    assert jobs(preview_of(stack))["probe"]["scrape_timeout"] == "10s"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_rules_are_read_through_a_glob_that_sibling_rule_files_match(stack: str) -> None:
    """Every rule file the Prometheus container receives matches `rule_files`."""
    preview = preview_of(stack)
    config = prometheus_yml(preview)
    received = [
        path
        for owner, path in preview.files()
        if owner == f"{stack}-prometheus" and path != CONFIG_PATH
    ]

    assert config["rule_files"] == [RULE_FILES] == ["/etc/prometheus/rules/*.yml"]
    assert received
    assert all(fnmatch.fnmatch(path, RULE_FILES) for path in received), received


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_alerts_go_to_alertmanager_and_series_name_their_environment(stack: str) -> None:
    """Alertmanager by its alias; every series leaves Prometheus labelled with the stack."""
    config = prometheus_yml(preview_of(stack))

    assert config["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    }
    assert config["global"]["external_labels"] == {"environment": stack, "stack": stack}
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"


@pytest.mark.parametrize(
    ("stack", "retention_time", "retention_size"),
    [("prod", "30d", "20GB"), ("staging", "7d", "5GB")],
)
def test_retention_by_time_and_size_comes_from_the_stack_settings(
    stack: str, retention_time: str, retention_size: str
) -> None:
    """The flags carry the stack file's retention."""
    command = preview_of(stack).named("metrics-prometheus").inputs["command"]

    assert command == [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        f"--storage.tsdb.retention.time={retention_time}",
        f"--storage.tsdb.retention.size={retention_size}",
    ]


def test_the_config_is_byte_for_byte_the_same_on_every_run() -> None:
    """Same settings, same file."""
    first = run_preview("prod").file("prod-prometheus", CONFIG_PATH)

    assert first == preview_of("prod").file("prod-prometheus", CONFIG_PATH)


@pytest.mark.parametrize("name", ["prometheus", "probe", "grafana"])
def test_a_service_cannot_take_the_name_of_one_of_the_stacks_own_jobs(name: str) -> None:
    """Two jobs with one name would be rejected by Prometheus; the settings say so first."""
    services = [
        {"name": "api", "health_url": "https://api.example.com/health"},
        {"name": name, "health_url": "https://other.example.com/"},
    ]

    with pytest.raises(
        ConfigError,
        match=rf"^observability:services: names must differ from the stack's own Prometheus "
        rf"jobs \[.*\], got \['{name}'\]$",
    ):
        stack_settings("staging", {"services": services})


def test_backup_results_pushed_to_the_pushgateway_are_scraped_with_their_own_labels() -> None:
    """With backups on, the Pushgateway is scraped and keeps the labels the runs pushed."""
    with_backups = jobs(preview_of("staging"))
    without = jobs(run_preview("staging", overrides={"components": {"backups": False}}))

    assert with_backups["pushgateway"]["honor_labels"] is True
    assert targets(with_backups["pushgateway"]) == ["pushgateway:9091"]
    assert "pushgateway" not in without
