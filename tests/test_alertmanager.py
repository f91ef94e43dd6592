"""alertmanager.yml: checked and route-tested by the real amtool, secrets only in files."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.metrics.render_alertmanager import (
    CONFIG_PATH,
    SECRET_KEYS,
    SECRETS_DIR,
    SLACK_TEXT,
)
from config import ConfigError
from preview import Preview, run_preview
from preview.harness import SECRET_MARK, stack_values
from tests.conftest import preview_of, real_tool

HEARTBEAT_URL = "https://hc-ping.example.com/5f0c7a52"
CANARIES = {key: f"CANARY-{key}-7f3d91" for key in SECRET_KEYS.values()}


def container(stack: str) -> str:
    """The name of a stack's Alertmanager container."""
    return f"{stack}-alertmanager"


def alertmanager_yml(preview: Preview) -> str:
    """The rendered alertmanager.yml of a preview."""
    return preview.file(container(preview.stack), CONFIG_PATH)


def checkable_config(preview: Preview, root: Path) -> Path:
    """alertmanager.yml written under `root`, its secret files replaced by dummy ones there."""
    secrets = root / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    for key in SECRET_KEYS.values():
        (secrets / key).write_text(f"dummy-{key}\n")

    path = root / "alertmanager.yml"
    path.write_text(alertmanager_yml(preview).replace(SECRETS_DIR, str(secrets)))
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real amtool; a failure shows its output."""
    result = subprocess.run(
        [real_tool("amtool"), *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def receivers_reached(config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers an alert with these labels reaches, as amtool resolves the route tree."""
    pairs = [f"{name}={value}" for name, value in labels.items()]
    result = amtool("config", "routes", "test", f"--config.file={config}", *pairs)
    return result.stdout.strip().split(",")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_alertmanager_config_passes_amtool_check_config(stack: str, tmp_path: Path) -> None:
    """amtool accepts each deployed stack's alertmanager.yml with its secret files in place."""
    config = checkable_config(preview_of(stack), tmp_path)

    result = amtool("check-config", str(config))

    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("stack", "labels", "expected"),
    [
        (
            "prod",
            {"alertname": "ServiceDown", "severity": "critical", "instance": "api"},
            ["pagerduty", "slack", "email"],
        ),
        ("prod", {"alertname": "CpuHigh", "severity": "warning", "instance": "host"}, ["slack"]),
        ("staging", {"alertname": "ServiceDown", "severity": "critical"}, ["slack"]),
        ("staging", {"alertname": "CpuHigh", "severity": "warning"}, ["slack"]),
        ("prod", {"alertname": "Watchdog", "severity": "none"}, ["null"]),
        ("prod", {"alertname": "Unlabelled"}, ["slack"]),
    ],
    ids=[
        "prod-critical",
        "prod-warning",
        "staging-critical",
        "staging-warning",
        "prod-watchdog-without-heartbeat",
        "prod-no-severity",
    ],
)
def test_each_severity_reaches_the_receivers_its_stack_routes_it_to(
    stack: str, labels: dict[str, str], expected: list[str], tmp_path: Path
) -> None:
    """Critical alerts page and post to Slack (and mail in prod); warnings only post to Slack."""
    config = checkable_config(preview_of(stack), tmp_path)

    assert receivers_reached(config, labels) == expected


def test_critical_alerts_follow_the_stack_routing_setting(tmp_path: Path) -> None:
    """The receivers of a critical alert are exactly those routing.critical lists, in order."""
    routing = {**stack_values("prod")["routing"], "critical": ["email", "pagerduty"]}
    config = checkable_config(run_preview("prod", overrides={"routing": routing}), tmp_path)

    reached = receivers_reached(config, {"alertname": "ServiceDown", "severity": "critical"})

    assert reached == ["email", "pagerduty"]


@functools.cache
def with_heartbeat() -> Preview:
    """prod with a heartbeat URL and a two-minute heartbeat interval."""
    routing = {
        **stack_values("prod")["routing"],
        "heartbeat_url": HEARTBEAT_URL,
        "heartbeat_interval": "2m",
    }
    return run_preview("prod", overrides={"routing": routing})


def test_the_watchdog_reaches_the_heartbeat_webhook_when_one_is_set(tmp_path: Path) -> None:
    """With routing.heartbeat_url set, the always-firing Watchdog calls that webhook."""
    config = checkable_config(with_heartbeat(), tmp_path)

    reached = receivers_reached(config, {"alertname": "Watchdog", "severity": "none"})

    assert reached == ["heartbeat"]
    receivers = yaml.safe_load(config.read_text())["receivers"]
    heartbeat = next(receiver for receiver in receivers if receiver["name"] == "heartbeat")
    assert heartbeat["webhook_configs"] == [{"url": HEARTBEAT_URL, "send_resolved": False}]


def test_the_watchdog_resends_on_every_heartbeat_interval() -> None:
    """The Watchdog's repeat is shorter than its group interval, so every tick sends a beat."""
    watchdog = yaml.safe_load(alertmanager_yml(with_heartbeat()))["route"]["routes"][0]

    assert watchdog["matchers"] == ['alertname="Watchdog"']
    assert watchdog["group_wait"] == "0s"
    assert watchdog["group_interval"] == "2m"
    assert watchdog["repeat_interval"] == "60s"


def test_alerts_group_by_alert_and_target_with_the_configured_timings() -> None:
    """Notifications group by alertname and instance; critical alerts have their own timings."""
    routing = {
        **stack_values("prod")["routing"],
        "group_wait": "45s",
        "group_interval": "10m",
        "repeat_interval": "12h",
        "critical_group_wait": "10s",
        "critical_group_interval": "2m",
        "critical_repeat_interval": "30m",
    }
    preview = run_preview("prod", overrides={"routing": routing})

    route = yaml.safe_load(alertmanager_yml(preview))["route"]
    critical = next(r for r in route["routes"] if r.get("matchers") == ['severity="critical"'])

    assert route["group_by"] == ["alertname", "instance"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "45s",
        "10m",
        "12h",
    )
    assert (critical["group_wait"], critical["group_interval"], critical["repeat_interval"]) == (
        "10s",
        "2m",
        "30m",
    )


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_a_critical_alert_inhibits_warnings_on_the_same_instance(stack: str) -> None:
    """One inhibition rule: a critical alert with an instance silences that instance's warnings."""
    config = yaml.safe_load(alertmanager_yml(preview_of(stack)))

    assert config["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"', 'instance=~".+"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["instance"],
        }
    ]


def test_secret_values_never_appear_in_the_config_only_in_their_own_files() -> None:
    """Canary secrets reach Alertmanager only as 0400 secret files, never in alertmanager.yml."""
    preview = run_preview("prod", secrets=CANARIES)
    text = alertmanager_yml(preview)
    files = {
        path: content
        for (owner, path), content in preview.files().items()
        if owner == container("prod")
    }
    every_file = preview.files().values()

    for key, canary in CANARIES.items():
        assert canary not in text
        assert f"{SECRETS_DIR}/{key}" in text
        assert files[f"{SECRETS_DIR}/{key}"] == SECRET_MARK
        assert any(canary in value for value in preview.walk_strings())
        assert all(canary not in content for content in every_file)

    alertmanager = preview.named("metrics-alertmanager")
    modes = {upload["file"]: upload["permissions"] for upload in alertmanager.inputs["uploads"]}
    assert all(modes[f"{SECRETS_DIR}/{key}"] == "0400" for key in CANARIES)


def test_every_secret_option_points_into_the_secrets_directory() -> None:
    """Each `*_file` option names a file under SECRETS_DIR; no inline secret option is set."""
    config = yaml.safe_load(alertmanager_yml(preview_of("prod")))
    options: dict[str, Any] = {}
    for receiver in config["receivers"]:
        for integration, settings in receiver.items():
            if integration.endswith("_configs"):
                for entry in settings:
                    options.update(entry)

    assert {key for key in options if key.endswith("_file")} == {
        "api_url_file",
        "routing_key_file",
        "auth_password_file",
    }
    assert all(
        value.startswith(f"{SECRETS_DIR}/")
        for key, value in options.items()
        if key.endswith("_file")
    )
    assert not {"api_url", "routing_key", "service_key", "auth_password"} & set(options)


def test_rendering_the_same_settings_twice_gives_identical_bytes() -> None:
    """The rendered file is deterministic."""
    first = alertmanager_yml(preview_of("prod"))
    second = alertmanager_yml(run_preview("prod"))

    assert first == second


def test_the_slack_message_renders_each_alert_summary(tmp_path: Path) -> None:
    """amtool renders the Slack text template with an alert's name, instance and summary."""
    alert = {
        "labels": {"alertname": "ServiceDown", "instance": "https://api.example.com/health"},
        "annotations": {"summary": "api is not answering its health check"},
    }
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"alerts": [alert], "status": "firing"}))
    templates = tmp_path / "none.tmpl"
    templates.write_text("")

    result = amtool(
        "template",
        "render",
        f"--template.glob={templates}",
        f"--template.data={data}",
        f"--template.text={SLACK_TEXT}",
    )

    assert result.stdout.strip() == (
        "*ServiceDown* on https://api.example.com/health: api is not answering its health check"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"critical_group_interval": "10m", "critical_repeat_interval": "5m"},
            r"observability:routing.critical_repeat_interval must not be shorter than "
            r"critical_group_interval, got 5m < 10m",
        ),
        (
            {"heartbeat_url": "http://hc.example.com/ping"},
            r"observability:routing.heartbeat_url must be an https URL such as .*, got 'http:",
        ),
    ],
    ids=["critical-repeat-shorter-than-group", "heartbeat-url-not-https"],
)
def test_invalid_routing_is_rejected_with_key_rule_and_value(
    change: dict[str, str], message: str
) -> None:
    """Routing settings Alertmanager would misread are refused before any resource exists."""
    routing = {**stack_values("prod")["routing"], **change}

    with pytest.raises(ConfigError, match=message):
        run_preview("prod", overrides={"routing": routing})


def test_warnings_go_nowhere_when_routing_lists_no_receiver_for_them(tmp_path: Path) -> None:
    """An empty routing.warning drops warnings while critical alerts still post to Slack."""
    routing = {"critical": ["slack"], "warning": []}
    config = checkable_config(run_preview("staging", overrides={"routing": routing}), tmp_path)

    assert receivers_reached(config, {"alertname": "CpuHigh", "severity": "warning"}) == ["null"]
    assert receivers_reached(config, {"alertname": "Down", "severity": "critical"}) == ["slack"]
