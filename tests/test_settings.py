"""Stack settings: defaults, the stack files, and a clear message for every broken rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config import ConfigError, settings_from_config
from preview.harness import stack_settings

VALID: dict[str, Any] = {
    "environment": "staging",
    "domain": "example.com",
    "hostnames": {
        "app": "app.example.com",
        "api": "api.example.com",
        "grafana": "grafana.example.com",
        "status": "status.example.com",
    },
    "services": [
        {"name": "api", "health_url": "https://api.example.com/health"},
        {"name": "web", "health_url": "https://app.example.com/"},
    ],
    "receivers": {"slack": {"channel": "#alerts"}},
    "routing": {"critical": ["slack"], "warning": ["slack"]},
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with the value at a dotted path replaced (a list index is a number)."""
    values = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = values
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    elif value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return values


_DELETE = object()


def test_valid_settings_get_production_defaults() -> None:
    """A minimal stack gets the documented defaults."""
    # Edge security needs a Cloudflare zone and an origin, which a minimal stack does not name.
    settings = settings_from_config("staging", with_change("components.edge_security", False))

    assert settings.metrics.scrape_interval == "15s"
    assert settings.alerts.cpu_percent == 80
    assert settings.alerts.cpu_for == "5m"
    assert settings.alerts.disk_free_percent == 15
    assert str(settings.ports.bind_address) == "127.0.0.1"
    assert settings.components.metrics


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_every_stack_file_is_valid(stack: str) -> None:
    """The committed Pulumi.<stack>.yaml files pass validation."""
    settings = stack_settings(stack)

    assert settings.environment == stack


INVALID = [
    ("environment", "production", r"observability:environment must be 'prod', 'staging' or "),
    ("domain", "Example..com", r"observability:domain must be a fully qualified .* got 'Ex"),
    ("domain", _DELETE, r"observability:domain is required"),
    ("hostnames.grafana", "grafana", r"observability:hostnames.grafana must be a fully qual"),
    ("services", [], r"observability:services must have at least 1 item, got \[\]"),
    ("services.0.name", "API", r"observability:services\[0\].name must start with a lower-case"),
    (
        "services.0.health_url",
        "ftp://x",
        r"observability:services\[0\].health_url must be an http or https URL such as .*, got 'ftp://x'",
    ),
    (
        "services.1",
        {"name": "api", "health_url": "https://x.example.com/"},
        r"services: names must be unique, got \['api'\]",
    ),
    (
        "services.0.expected_status",
        700,
        r"observability:services\[0\].expected_status must be less than or equal to 599, got 700",
    ),
    (
        "services.0.metrics_target",
        "backend",
        r"observability:services\[0\].metrics_target must be host:port such as .*, got 'backend'",
    ),
    ("metrics.scrape_interval", "15", r"observability:metrics.scrape_interval must be a positive"),
    ("metrics.scrape_interval", "0s", r"observability:metrics.scrape_interval must be a positive"),
    ("metrics.retention_size", "20G", r"observability:metrics.retention_size must be a positive"),
    ("metrics.retention_time", "forever", r"observability:metrics.retention_time must be a pos"),
    (
        "metrics.memory_mb",
        {"prometheus": 0},
        r"observability:metrics.memory_mb.prometheus must be greater than 0, got 0",
    ),
    ("metrics.memory_mb", {"promethus": 512}, r"memory_mb names unknown containers \['promethus'"),
    (
        "alerts.cpu_percent",
        180,
        r"observability:alerts.cpu_percent must be between 1 and 100, got 180",
    ),
    ("alerts.disk_free_percent", 0, r"observability:alerts.disk_free_percent must be between 1 a"),
    ("alerts.api_error_ratio", 5, r"observability:alerts.api_error_ratio must be greater than 0 "),
    ("alerts.cpu_for", "five minutes", r"observability:alerts.cpu_for must be a positive duration"),
    ("alerts.api_service", "backend", r"alerts.api_service must name one of the services"),
    ("alerts.tls_expiry_days", -1, r"observability:alerts.tls_expiry_days must be greater than 0"),
    (
        "alerts.cpu_pct",
        80,
        r"observability:alerts.cpu_pct is not a known setting; did you mean 'cpu_percent'\?",
    ),
    (
        "receivers.slack.channel",
        "alerts",
        r"observability:receivers.slack.channel must be a Slack channel .*, got 'alerts'",
    ),
    (
        "receivers.email",
        {"to": "x"},
        r"observability:receivers.email.to must be an email address such as .*, got 'x'",
    ),
    ("routing.critical", ["pagerduty"], r"routing.critical names receiver 'pagerduty', which "),
    ("routing.warning", ["sms"], r"observability:routing.warning\[0\] must be 'pagerduty', 'sl"),
    (
        "routing.repeat_interval",
        "1m",
        r"repeat_interval must not be shorter than group_interval, got 1m < 5m",
    ),
    (
        "ports.bind_address",
        "localhost",
        r"observability:ports.bind_address is not a valid IPv4 address, got .localhost.",
    ),
    ("ports.subnet", "172.30.0.1/24", r"observability:ports.subnet is not a valid IPv4 network"),
    ("components.metrics", "yes please", r"observability:components.metrics must be a valid bool"),
]


@pytest.mark.parametrize(("path", "value", "message"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_settings_are_rejected_with_key_rule_and_value(
    path: str, value: Any, message: str
) -> None:
    """Each broken rule names the config key, the rule and the offending value."""
    with pytest.raises(ConfigError, match=message):
        settings_from_config("staging", with_change(path, value))


def test_an_unknown_section_is_rejected_with_the_known_ones() -> None:
    """A misspelled top-level key is an error, not silently ignored."""
    values = {**VALID, "alert": {"cpu_percent": 90}}

    with pytest.raises(
        ConfigError,
        match=r"observability:alert is not a known setting; did you mean .alerts.\?; known",
    ):
        settings_from_config("staging", values)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("metrics.scrape_interval", 15, r"scrape_interval must be a positive duration .*, got 15"),
        ("metrics.retention_size", 20, r"retention_size must be a positive size .*, got 20"),
    ],
)
def test_a_number_where_a_duration_belongs_says_what_is_expected(
    path: str, value: Any, message: str
) -> None:
    """A bare number gets the same rule as a malformed string, with an example."""
    with pytest.raises(ConfigError, match=message):
        settings_from_config("staging", with_change(path, value))
