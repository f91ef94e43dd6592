"""The files AutoKuma reads: one monitor per service, complete, valid, and read as meant."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from typing import Any

import pytest
from pydantic import ValidationError

from components.status_page import render_autokuma, render_uptime_kuma
from components.status_page.autokuma_schema import ENTITY, ENV_TEMPLATE, PUSH_TOKEN
from config import ConfigError, settings_from_config
from config.settings import Settings

BASE: dict[str, Any] = {
    "environment": "staging",
    "domain": "example.com",
    "hostnames": {
        "app": "app.example.com",
        "api": "api.example.com",
        "grafana": "grafana.example.com",
        "status": "status.example.com",
    },
    "services": [
        {"name": "api", "health_url": "https://api.example.com/health", "keyword": "ok"},
        {"name": "web", "health_url": "https://app.example.com/"},
        {"name": "docs", "health_url": "http://docs.example.com/", "expected_status": 301},
    ],
    "components": {"edge_security": False, "backups": True},
    "receivers": {
        "slack": {"channel": "#alerts"},
        "email": {
            "to": "oncall@example.com",
            "sender": "kuma@example.com",
            "smarthost": "smtp.example.com:587",
            "username": "kuma@example.com",
        },
    },
    "routing": {"critical": ["slack"], "warning": ["slack"]},
    "status_page": {
        "interval": "45s",
        "retries": 3,
        "monitors": {
            "api": {"tcp": "backend:8000", "ping": "api.example.com", "interval": "20s"},
            "web": {"retries": 5},
        },
        "maintenance": [
            {"title": "Weekly database upgrade", "cron": "0 3 * * 0", "duration": "30m"},
            {
                "title": "Docs rebuild",
                "cron": "30 2 1 * *",
                "duration": "2h",
                "timezone": "Europe/Berlin",
                "services": ["docs"],
            },
        ],
    },
}

ENV = {
    render_autokuma.SLACK_WEBHOOK_ENV: "https://hooks.slack.com/services/T0/B0/abc",
    render_autokuma.SMTP_PASSWORD_ENV: "smtp-password",
    render_autokuma.BACKUP_PUSH_TOKEN_ENV: "A" * 32,
}


def settings_with(**sections: Any) -> Settings:
    """BASE with whole sections replaced."""
    values = copy.deepcopy(BASE)
    values.update(sections)
    return settings_from_config("staging", values)


def entities(settings: Settings) -> dict[str, dict[str, Any]]:
    """The parsed files, by AutoKuma id (the file name without `.json`)."""
    return {
        path.rsplit("/", 1)[1].removesuffix(".json"): json.loads(text)
        for path, text in render_autokuma.static_monitor_files(settings).items()
    }


def test_every_monitored_service_has_a_monitor_with_the_settings_interval_and_retries() -> None:
    """One HTTP(S) monitor per service; a service's own timing beats the section's."""
    files = entities(settings_with())

    for service in BASE["services"]:
        assert files[f"{service['name']}-http"]["url"] == service["health_url"]
    assert files["api-http"]["interval"] == 20
    assert files["api-http"]["max_retries"] == 3
    assert files["web-http"]["interval"] == 45
    assert files["web-http"]["max_retries"] == 5
    assert files["docs-http"]["interval"] == 45
    assert files["docs-http"]["max_retries"] == 3
    for service in BASE["services"]:
        assert files[f"{service['name']}-http"]["retry_interval"] == 30


def test_tcp_and_ping_monitors_exist_only_where_the_settings_ask() -> None:
    """`monitors.api.tcp` and `.ping` add a port and a ping monitor for api, none for others."""
    files = entities(settings_with())

    assert (files["api-tcp"]["type"], files["api-tcp"]["hostname"]) == ("port", "backend")
    assert files["api-tcp"]["port"] == 8000
    assert (files["api-ping"]["type"], files["api-ping"]["hostname"]) == (
        "ping",
        "api.example.com",
    )
    assert "web-tcp" not in files
    assert "web-ping" not in files
    assert "docs-tcp" not in files


def test_http_monitors_check_the_expected_status_and_keyword() -> None:
    """A keyword makes a keyword monitor; a 3xx answer is accepted as is, not followed."""
    files = entities(settings_with())

    assert files["api-http"]["type"] == "keyword"
    assert files["api-http"]["keyword"] == "ok"
    assert files["web-http"]["type"] == "http"
    assert files["web-http"]["accepted_statuscodes"] == ["200"]
    assert files["docs-http"]["accepted_statuscodes"] == ["301"]
    assert files["docs-http"]["max_redirects"] == 0
    assert files["docs-http"]["expiry_notification"] is False
    assert files["web-http"]["expiry_notification"] is True


def test_every_monitor_notifies_the_configured_channels() -> None:
    """Each monitor names Slack and email, and both notification files exist."""
    files = entities(settings_with())
    monitors = render_autokuma.monitor_entities(settings_with())

    for entity_id in monitors:
        assert files[entity_id]["notification_name_list"] == ["email", "slack"], entity_id
    assert files["slack"]["config"]["type"] == "slack"
    assert files["slack"]["config"]["slackchannel"] == "#alerts"
    assert files["email"]["config"]["smtpHost"] == "smtp.example.com"
    assert files["email"]["config"]["smtpPort"] == 587


def test_the_settings_can_narrow_notifications_to_one_channel() -> None:
    """`status_page.notifications: [slack]` leaves email out of monitors and files."""
    page = copy.deepcopy(BASE["status_page"]) | {"notifications": ["slack"]}
    files = entities(settings_with(status_page=page))

    assert "email" not in files
    assert files["web-http"]["notification_name_list"] == ["slack"]


def test_a_stack_without_receivers_declares_no_notification() -> None:
    """No receivers, no notification files, and monitors name none."""
    files = entities(settings_with(receivers={}, routing={"critical": [], "warning": []}))

    assert "slack" not in files
    assert "email" not in files
    assert files["web-http"]["notification_name_list"] == []


def test_the_backup_job_gets_a_push_monitor_only_where_backups_run() -> None:
    """With backups on, a push monitor reads its token from AutoKuma's environment."""
    with_backups = entities(settings_with())
    without = entities(settings_with(components={"edge_security": False, "backups": False}))

    push = with_backups[render_autokuma.BACKUP_PUSH_ID]
    assert push["type"] == "push"
    assert push["interval"] == 25 * 3600
    assert ENV_TEMPLATE.match(push["push_token"]).group(1) == render_autokuma.BACKUP_PUSH_TOKEN_ENV
    assert render_autokuma.BACKUP_PUSH_ID not in without


def test_every_file_autokuma_reads_matches_its_schema() -> None:
    """Every entity validates against the models taken from AutoKuma's source."""
    for entity in entities(settings_with()).values():
        ENTITY.validate_python(entity)

    assert set(entities(settings_with())) == {
        "api-http",
        "api-ping",
        "api-tcp",
        "backup-push",
        "docs-http",
        "email",
        "slack",
        "status-page",
        "web-http",
    }


@pytest.mark.parametrize(
    ("entity_id", "key", "value", "message"),
    [
        ("web-http", "intervall", 60, "Extra inputs are not permitted"),
        ("web-http", "interval", "60", "Input should be a valid integer"),
        ("web-http", "accepted_status_codes", ["200"], "Extra inputs are not permitted"),
        ("web-http", "notification_names", ["slack"], "Extra inputs are not permitted"),
        ("web-http", "method", "FETCH", "Input should be 'DELETE'"),
        ("web-http", "url", None, "Input should be a valid string"),
        ("api-tcp", "port", 70000, "less than or equal to 65535"),
        ("api-ping", "host", "x", "Extra inputs are not permitted"),
        ("backup-push", "pushtoken", "x", "Extra inputs are not permitted"),
        ("status-page", "showTag", True, "Extra inputs are not permitted"),
        ("status-page", "publicGroupList", [], "Extra inputs are not permitted"),
    ],
)
def test_a_misspelled_or_mistyped_key_fails_the_schema(
    entity_id: str, key: str, value: Any, message: str
) -> None:
    """A key AutoKuma would silently drop, or a wrong type, is an error here."""
    entity = entities(settings_with())[entity_id] | {key: value}

    with pytest.raises(ValidationError, match=message):
        ENTITY.validate_python(entity)


@pytest.mark.parametrize(
    ("entity_id", "key", "value"),
    [
        ("slack", "slackWebhookURL", "https://hooks.slack.com/x"),
        ("email", "smtpPasword", "x"),
        ("email", "smtpPort", "587"),
    ],
)
def test_a_misspelled_notification_setting_fails_the_schema(
    entity_id: str, key: str, value: Any
) -> None:
    """Provider settings follow Uptime Kuma's own names and types."""
    entity = entities(settings_with())[entity_id]
    entity["config"] = entity["config"] | {key: value}

    with pytest.raises(ValidationError):
        ENTITY.validate_python(entity)


def test_every_file_survives_autokumas_own_parsing() -> None:
    """Flattened to TOML lines with templates filled, each file keeps every value it had."""
    for path, text in render_autokuma.static_monitor_files(settings_with()).items():
        parsed = autokuma_reads(text, ENV)

        assert parsed == expected_after_parsing(json.loads(text), ENV), path


def test_the_push_token_autokuma_sends_is_32_letters_and_digits() -> None:
    """After its template is filled, the token passes AutoKuma's own push token check."""
    text = render_autokuma.static_monitor_files(settings_with())[
        f"{render_autokuma.STATIC_MONITORS_DIR}/{render_autokuma.BACKUP_PUSH_ID}.json"
    ]

    assert PUSH_TOKEN.match(autokuma_reads(text, ENV)["push_token"])


def test_text_from_the_settings_stays_literal_in_autokumas_templates() -> None:
    """A keyword that looks like a Tera template reaches Uptime Kuma unchanged."""
    services = copy.deepcopy(BASE["services"])
    services[1]["keyword"] = "{{ version }} {% ok %}"
    settings = settings_with(services=services)

    text = render_autokuma.static_monitor_files(settings)[
        f"{render_autokuma.STATIC_MONITORS_DIR}/web-http.json"
    ]

    assert autokuma_reads(text, ENV)["keyword"] == "{{ version }} {% ok %}"


def test_the_status_page_lists_every_monitored_service() -> None:
    """The status page exists, and its groups name every service's monitor and the backups."""
    settings = settings_with()
    files = entities(settings)
    groups = render_uptime_kuma.status_page_groups(settings)
    monitor_names = {entity["name"] for entity in files.values() if "interval" in entity}

    assert files["status-page"]["slug"] == "status"
    assert files["status-page"]["published"] is True
    listed = [name for group in groups for name in group["monitors"]]
    assert {service["name"] for service in BASE["services"]} <= set(listed)
    assert render_autokuma.BACKUP_PUSH_NAME in listed
    assert set(listed) <= monitor_names


def test_maintenance_windows_come_from_the_settings() -> None:
    """Each window keeps its cron, length and zone; an empty list means every service."""
    windows = render_uptime_kuma.maintenance_windows(settings_with())

    assert windows[0]["cron"] == "0 3 * * 0"
    assert windows[0]["durationMinutes"] == 30
    assert windows[0]["timezone"] == "UTC"
    assert windows[0]["monitors"] == ["api", "web", "docs"]
    assert windows[1]["durationMinutes"] == 120
    assert windows[1]["timezone"] == "Europe/Berlin"
    assert windows[1]["monitors"] == ["docs"]
    setup = json.loads(render_uptime_kuma.manual_setup(settings_with()))
    assert setup["maintenance"] == windows


def test_the_files_are_identical_for_identical_settings() -> None:
    """Rendering twice gives byte-identical files."""
    assert render_autokuma.static_monitor_files(
        settings_with()
    ) == render_autokuma.static_monitor_files(settings_with())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": "10s"}, r"status_page\.interval must be between 20s and 24d"),
        ({"interval": "1500ms"}, r"status_page\.interval must be between 20s"),
        ({"retries": 11}, r"status_page\.retries must be less than or equal to 10, got 11"),
        ({"monitors": {"db": {}}}, r"status_page\.monitors names unknown services \['db'\]"),
        ({"monitors": {"api": {"tcp": "backend"}}}, r"monitors\.api\.tcp must be `host:port`"),
        ({"monitors": {"api": {"ping": "a b"}}}, r"monitors\.api\.ping must be a host name"),
        ({"monitors": {"api": {"retries": -1}}}, r"monitors\.api\.retries must be greater"),
        ({"monitors": {"api": {"timeout": 5}}}, r"monitors\.api\.timeout is not a known"),
        ({"notifications": ["pagerduty"]}, r"status_page\.notifications\[0\] must be 'slack'"),
        ({"notifications": ["slack", "slack"]}, r"notifications must not repeat a channel"),
        ({"slug": "Status Page"}, r"status_page\.slug must start with a lower-case letter"),
        ({"memory_mb": {"grafana": 64}}, r"memory_mb names unknown containers \['grafana'\]"),
        ({"backup_push": {"interval": "5s"}}, r"backup_push\.interval must be between 20s"),
        (
            {"maintenance": [{"title": "x", "cron": "0 3 * *", "duration": "30m"}]},
            r"maintenance\[0\]\.cron must be a five-field cron expression",
        ),
        (
            {"maintenance": [{"title": "x", "cron": "0 3 * * 0", "duration": "90s"}]},
            r"duration must be whole minutes, got '90s'",
        ),
        (
            {
                "maintenance": [
                    {"title": "x", "cron": "0 3 * * 0", "duration": "1h", "timezone": "Mars/Base"}
                ]
            },
            r"maintenance\[0\]\.timezone must be an IANA time zone",
        ),
        (
            {
                "maintenance": [
                    {"title": "x", "cron": "0 3 * * 0", "duration": "1h", "services": ["db"]}
                ]
            },
            r"status_page\.maintenance\[0\]\.services names unknown services \['db'\]",
        ),
    ],
)
def test_invalid_status_page_settings_name_the_key_and_the_value(
    change: dict[str, Any], message: str
) -> None:
    """Each broken rule stops the program before any resource, naming the key."""
    with pytest.raises(ConfigError, match=message):
        settings_with(status_page=change)


def test_a_notification_channel_needs_its_receiver() -> None:
    """Email monitors need `receivers.email`, whose secret holds the SMTP password."""
    with pytest.raises(ConfigError, match=r"status_page\.notifications names 'email'"):
        settings_with(
            receivers={"slack": {"channel": "#alerts"}},
            status_page={"notifications": ["email"]},
        )


# What AutoKuma 2.0 does with a static file (`entity.rs`, `util.rs`): flatten nested objects to
# dotted keys and arrays to JSON text, write one `key = <JSON value>` line per key, render the
# whole text with Tera, and parse it as TOML.

_TEMPLATE = re.compile(r"\{% raw %\}(.*?)\{% endraw %\}|\{\{ get_env\(name='([A-Z0-9_]+)'\) \}\}")


def autokuma_reads(text: str, env: dict[str, str]) -> dict[str, Any]:
    """The document AutoKuma builds from one file before its serde models see it."""
    lines = []
    for key, value in sorted(_flatten(json.loads(text)).items()):
        if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return tomllib.loads(_render(("\n".join(lines)), env))


def expected_after_parsing(entity: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The entity as AutoKuma should see it: templates filled, arrays as JSON text."""
    result: dict[str, Any] = {}
    for key, value in entity.items():
        if isinstance(value, dict):
            result[key] = expected_after_parsing(value, env)
        elif isinstance(value, list):
            result[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, str):
            result[key] = _render(value, env)
        else:
            result[key] = value
    return result


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            flat.update(_flatten(item, name))
        elif isinstance(item, list):
            flat[name] = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
        else:
            assert item is not None, f"{name}: TOML has no null"
            flat[name] = item
    return flat


def _render(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return match.group(1) if match.group(1) is not None else env[match.group(2)]

    rendered = _TEMPLATE.sub(replace, text)
    leftover = _TEMPLATE.sub("", text)
    for marker in ("{{", "{%", "{#"):
        assert marker not in leftover, f"Tera would read {marker!r} in {text!r}"
    return rendered
