"""alertmanager.yml and the secret files it reads, rendered from the settings.

Every integration is its own receiver (`pagerduty`, `slack`, `email`); a severity reaches
several of them through sibling routes with `continue: true`, so each integration keeps its own
notification log and `amtool config routes test` names every integration an alert reaches.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml

from config.base import seconds
from config.metrics import EmailReceiver, PagerDutyReceiver, Receiver, SlackReceiver
from config.secrets import StackSecrets
from config.settings import Settings

CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
SECRETS_DIR = "/etc/alertmanager/secrets"
STORAGE_PATH = "/alertmanager"
USER = "nobody"

GROUP_BY = ("alertname", "instance")
"""Labels one notification groups by: one alert rule on one target."""

WATCHDOG = "Watchdog"
"""The always-firing alert that proves the pipeline from Prometheus to Alertmanager works."""

NULL_RECEIVER = "null"
HEARTBEAT_RECEIVER = "heartbeat"

SECRET_KEYS: dict[Receiver, str] = {
    "slack": "slack_webhook_url",
    "pagerduty": "pagerduty_routing_key",
    "email": "smtp_password",
}
"""The secret each receiver reads from its own file, by receiver."""

SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Labels.alertname }}* on {{ .Labels.instance }}: "
    "{{ .Annotations.summary }}\n{{ end }}"
)


def alertmanager_flags() -> list[str]:
    """Alertmanager's flags: one instance, so clustering is off."""
    return [
        f"--config.file={CONFIG_PATH}",
        f"--storage.path={STORAGE_PATH}",
        # A lone instance that gossips waits for peers that never come before it notifies.
        "--cluster.listen-address=",
    ]


def secret_path(receiver: Receiver) -> str:
    """The file inside the container that holds one receiver's secret."""
    return f"{SECRETS_DIR}/{SECRET_KEYS[receiver]}"


def secret_files(secrets: StackSecrets) -> list[tuple[str, pulumi.Output[str]]]:
    """(path, secret value) of every secret file Alertmanager reads."""
    files = []
    for receiver, key in SECRET_KEYS.items():
        value = getattr(secrets, key)
        if value is not None:
            files.append((secret_path(receiver), value))
    return files


def render_alertmanager_config(settings: Settings) -> str:
    """The text of alertmanager.yml."""
    # Wide lines keep each Go template on one line rather than folded mid-expression.
    return yaml.safe_dump(alertmanager_config(settings), sort_keys=True, width=1000)


def alertmanager_config(settings: Settings) -> dict[str, Any]:
    """alertmanager.yml as a structure: route tree, receivers and inhibition rules."""
    return {
        "route": route(settings),
        "receivers": receivers(settings),
        "inhibit_rules": inhibit_rules(),
    }


def route(settings: Settings) -> dict[str, Any]:
    """The route tree: the Watchdog to the heartbeat, then critical alerts, then the rest."""
    routing = settings.routing
    return {
        "receiver": NULL_RECEIVER,
        "group_by": list(GROUP_BY),
        "group_wait": routing.group_wait,
        "group_interval": routing.group_interval,
        "repeat_interval": routing.repeat_interval,
        "routes": [
            watchdog_route(settings),
            {
                "matchers": ['severity="critical"'],
                "group_wait": routing.critical_group_wait,
                "group_interval": routing.critical_group_interval,
                "repeat_interval": routing.critical_repeat_interval,
                "routes": fan_out(routing.critical),
            },
            # Anything else, an alert without a severity included, is handled as a warning so
            # that a mislabelled rule still reaches someone.
            {"routes": fan_out(routing.warning)},
        ],
    }


def watchdog_route(settings: Settings) -> dict[str, Any]:
    """The Watchdog's route: to the heartbeat webhook every heartbeat_interval, or nowhere."""
    interval = settings.routing.heartbeat_interval
    return {
        "matchers": [f'alertname="{WATCHDOG}"'],
        "receiver": HEARTBEAT_RECEIVER if settings.routing.heartbeat_url else NULL_RECEIVER,
        "group_wait": "0s",
        "group_interval": interval,
        # Alertmanager resends only when a group_interval tick finds the last notification at
        # least repeat_interval old; a repeat a little shorter than the tick resends on every
        # tick, where equal intervals would beat only every second tick.
        "repeat_interval": _duration(seconds(interval) / 2),
    }


def fan_out(receivers: list[Receiver]) -> list[dict[str, Any]]:
    """Sibling routes that send one alert to each receiver in turn."""
    return [
        {"receiver": name, **({"continue": True} if index < len(receivers) - 1 else {})}
        for index, name in enumerate(receivers)
    ]


def inhibit_rules() -> list[dict[str, Any]]:
    """A critical alert on a target silences the warnings on the same target."""
    return [
        {
            # Without a non-empty instance on the source, alerts lacking the label would all
            # count as the same target.
            "source_matchers": ['severity="critical"', 'instance=~".+"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["instance"],
        }
    ]


def receivers(settings: Settings) -> list[dict[str, Any]]:
    """Every receiver: the null one, the heartbeat when set, then each configured integration."""
    configured = settings.receivers
    entries: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    if settings.routing.heartbeat_url:
        entries.append(heartbeat_receiver(settings.routing.heartbeat_url))
    if configured.pagerduty is not None:
        entries.append(pagerduty_receiver(configured.pagerduty))
    if configured.slack is not None:
        entries.append(slack_receiver(configured.slack))
    if configured.email is not None:
        entries.append(email_receiver(configured.email))
    return entries


def heartbeat_receiver(url: str) -> dict[str, Any]:
    """A webhook the Watchdog calls; silence there means the pipeline is broken."""
    # Limitation: the heartbeat URL is plain configuration; Alertmanager 0.25 has no `url_file`.
    return {
        "name": HEARTBEAT_RECEIVER,
        "webhook_configs": [{"url": url, "send_resolved": False}],
    }


def pagerduty_receiver(pagerduty: PagerDutyReceiver) -> dict[str, Any]:
    """PagerDuty Events API v2, its routing key read from a file."""
    return {
        "name": "pagerduty",
        "pagerduty_configs": [
            {
                "routing_key_file": secret_path("pagerduty"),
                "send_resolved": pagerduty.send_resolved,
            }
        ],
    }


def slack_receiver(slack: SlackReceiver) -> dict[str, Any]:
    """A Slack channel, its incoming webhook URL read from a file."""
    return {
        "name": "slack",
        "slack_configs": [
            {
                "api_url_file": secret_path("slack"),
                "channel": slack.channel,
                "send_resolved": slack.send_resolved,
                "text": SLACK_TEXT,
            }
        ],
    }


def email_receiver(email: EmailReceiver) -> dict[str, Any]:
    """Email over SMTP, its password read from a file."""
    return {
        "name": "email",
        "email_configs": [
            {
                "to": email.to,
                "from": email.sender,
                "smarthost": email.smarthost,
                "auth_username": email.username,
                "auth_password_file": secret_path("email"),
                "require_tls": email.require_tls,
                "send_resolved": True,
            }
        ],
    }


def _duration(value: float) -> str:
    """A duration Alertmanager reads, in whole milliseconds when it is not whole seconds."""
    if value == int(value):
        return f"{int(value)}s"
    return f"{round(value * 1000)}ms"
