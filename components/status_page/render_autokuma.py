"""AutoKuma's static entity files and environment, rendered from the settings.

AutoKuma (https://github.com/BigBoot/AutoKuma) reads one JSON file per entity from its static
monitors folder; the file name without `.json` is the entity's AutoKuma id, which monitors use
to name their notifications. It creates, updates and deletes the matching Uptime Kuma entities
on every sync, so these files are the whole declared state of the monitors.
"""

from __future__ import annotations

import json
from typing import Any

from config.base import seconds
from config.settings import MonitoredService, Settings

STATIC_MONITORS_DIR = "/autokuma/static-monitors"
DATA_DIR = "/data"
UPTIME_KUMA_ROLE = "uptime-kuma"
UPTIME_KUMA_PORT = 3001
UPTIME_KUMA_URL = f"http://{UPTIME_KUMA_ROLE}:{UPTIME_KUMA_PORT}"

# AutoKuma renders every value through Tera; `get_env` only reads variables with this prefix.
SLACK_WEBHOOK_ENV = "AUTOKUMA__ENV__SLACK_WEBHOOK_URL"
SMTP_PASSWORD_ENV = "AUTOKUMA__ENV__SMTP_PASSWORD"
BACKUP_PUSH_TOKEN_ENV = "AUTOKUMA__ENV__BACKUP_PUSH_TOKEN"
PASSWORD_ENV = "AUTOKUMA__KUMA__PASSWORD"

BACKUP_PUSH_ID = "backup-push"
BACKUP_PUSH_NAME = "backups"
STATUS_PAGE_ID = "status-page"
# Uptime Kuma's own default HTTP timeout; shorter intervals get 80% of the interval.
MAX_TIMEOUT_SECONDS = 48
MAX_REDIRECTS = 10
_TEMPLATE_MARKERS = ("{{", "{%", "{#")


def env_reference(name: str) -> str:
    """The Tera expression with which AutoKuma reads an `AUTOKUMA__ENV__` variable."""
    return f"{{{{ get_env(name='{name}') }}}}"


def http_monitor_id(service: MonitoredService) -> str:
    """The AutoKuma id of a service's HTTP(S) monitor."""
    return f"{service.name}-http"


def tcp_monitor_id(service: MonitoredService) -> str:
    """The AutoKuma id of a service's TCP monitor."""
    return f"{service.name}-tcp"


def ping_monitor_id(service: MonitoredService) -> str:
    """The AutoKuma id of a service's ping monitor."""
    return f"{service.name}-ping"


def backup_push_enabled(settings: Settings) -> bool:
    """Whether the stack runs backups, whose job reports to a push monitor."""
    return settings.components.backups


def notification_ids(settings: Settings) -> list[str]:
    """The AutoKuma ids of the notification channels every monitor uses."""
    return list(settings.status_page.channels(settings.receivers.enabled()))


def monitor_entities(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every monitor, by AutoKuma id: HTTP(S) per service, TCP and ping where asked, backups."""
    entities: dict[str, dict[str, Any]] = {}
    for service in settings.services:
        entities[http_monitor_id(service)] = _http_monitor(settings, service)
        override = settings.status_page.override(service.name)
        if override.tcp is not None:
            host, port = override.tcp.rsplit(":", 1)
            entities[tcp_monitor_id(service)] = {
                **_timing(settings, service),
                "type": "port",
                "name": f"{service.name} TCP",
                "description": _literal(f"TCP connect to {override.tcp}"),
                "hostname": host,
                "port": int(port),
            }
        if override.ping is not None:
            entities[ping_monitor_id(service)] = {
                **_timing(settings, service),
                "type": "ping",
                "name": f"{service.name} ping",
                "description": _literal(f"ICMP echo to {override.ping}"),
                "hostname": override.ping,
            }

    if backup_push_enabled(settings):
        entities[BACKUP_PUSH_ID] = _backup_push_monitor(settings)
    return dict(sorted(entities.items()))


def notification_entities(settings: Settings) -> dict[str, dict[str, Any]]:
    """The notification channels by AutoKuma id (`slack`, `email`), secrets read from env."""
    entities: dict[str, dict[str, Any]] = {}
    receivers = settings.receivers
    for channel in notification_ids(settings):
        if channel == "slack" and receivers.slack is not None:
            entities["slack"] = {
                "type": "notification",
                "name": _literal(f"Slack {receivers.slack.channel}"),
                "active": True,
                "is_default": False,
                "config": {
                    "type": "slack",
                    "slackwebhookURL": env_reference(SLACK_WEBHOOK_ENV),
                    "slackchannel": _literal(receivers.slack.channel),
                    "slackusername": "Uptime Kuma",
                    "slackchannelnotify": False,
                },
            }
        elif channel == "email" and receivers.email is not None:
            email = receivers.email
            host, port = email.smarthost.rsplit(":", 1)
            entities["email"] = {
                "type": "notification",
                "name": _literal(f"Email {email.to}"),
                "active": True,
                "is_default": False,
                "config": {
                    "type": "smtp",
                    "smtpHost": host,
                    "smtpPort": int(port),
                    # Port 465 speaks TLS from the first byte; others upgrade with STARTTLS.
                    "smtpSecure": port == "465",
                    "smtpIgnoreTLSError": not email.require_tls,
                    "smtpUsername": _literal(email.username),
                    "smtpPassword": env_reference(SMTP_PASSWORD_ENV),
                    "smtpFrom": _literal(email.sender),
                    "smtpTo": _literal(email.to),
                },
            }
    return entities


def status_page_entity(settings: Settings) -> dict[str, Any]:
    """The public status page: slug, title and description; created once, never updated."""
    # Limitation: AutoKuma 2.0 lists monitors on a status page by numeric id only; groups by hand.
    page = settings.status_page
    return {
        "type": "status_page",
        "slug": page.slug,
        "title": _literal(page.title),
        "description": _literal(page.description),
        "published": True,
        "showTags": False,
        "showPoweredBy": False,
        "showCertificateExpiry": True,
        "footerText": _literal(f"{settings.domain} status"),
    }


def static_monitor_files(settings: Settings) -> dict[str, str]:
    """Every file AutoKuma reads, by absolute path inside its container."""
    entities = {
        **monitor_entities(settings),
        **notification_entities(settings),
        STATUS_PAGE_ID: status_page_entity(settings),
    }
    return {
        f"{STATIC_MONITORS_DIR}/{entity_id}.json": _json(entity)
        for entity_id, entity in sorted(entities.items())
    }


def autokuma_environment(settings: Settings) -> list[str]:
    """AutoKuma's environment without its secrets: where Uptime Kuma and the files are."""
    return [
        f"AUTOKUMA__KUMA__URL={UPTIME_KUMA_URL}",
        f"AUTOKUMA__KUMA__USERNAME={settings.status_page.admin_username}",
        f"AUTOKUMA__STATIC_MONITORS={STATIC_MONITORS_DIR}",
        f"AUTOKUMA__DATA_PATH={DATA_DIR}",
        # Monitors come from the files only; AutoKuma gets no Docker socket.
        "AUTOKUMA__DOCKER__ENABLED=false",
        # A service removed from the settings loses its monitors after the grace period.
        "AUTOKUMA__ON_DELETE=delete",
    ]


def secret_environment_names(settings: Settings) -> list[str]:
    """The `AUTOKUMA__ENV__` variables the files read, which the component fills from secrets."""
    names = []
    channels = notification_ids(settings)
    if "slack" in channels:
        names.append(SLACK_WEBHOOK_ENV)
    if "email" in channels:
        names.append(SMTP_PASSWORD_ENV)
    if backup_push_enabled(settings):
        names.append(BACKUP_PUSH_TOKEN_ENV)
    return sorted(names)


def push_path(token: str) -> str:
    """The path the backup job requests after a successful run."""
    return f"/api/push/{token}?status=up&msg=OK&ping="


def _http_monitor(settings: Settings, service: MonitoredService) -> dict[str, Any]:
    monitor: dict[str, Any] = {
        **_timing(settings, service),
        "type": "keyword" if service.keyword else "http",
        "name": service.name,
        "description": _literal(f"{service.health_url} answers {service.expected_status}"),
        "url": service.health_url,
        "method": "GET",
        "accepted_statuscodes": [str(service.expected_status)],
        # A redirect that is itself the expected answer must not be followed.
        "max_redirects": 0 if 300 <= service.expected_status < 400 else MAX_REDIRECTS,
        "timeout": _timeout(settings, service),
        "expiry_notification": service.health_url.startswith("https://"),
    }
    if service.keyword:
        monitor["keyword"] = _literal(service.keyword)
        monitor["invert_keyword"] = False
    return monitor


def _backup_push_monitor(settings: Settings) -> dict[str, Any]:
    push = settings.status_page.backup_push
    interval = int(seconds(push.interval))
    return {
        "type": "push",
        "name": BACKUP_PUSH_NAME,
        "description": "The backup job pushes after each successful run",
        "push_token": env_reference(BACKUP_PUSH_TOKEN_ENV),
        "interval": interval,
        "retry_interval": interval,
        "max_retries": push.retries,
        "active": True,
        "notification_name_list": notification_ids(settings),
    }


def _timing(settings: Settings, service: MonitoredService) -> dict[str, Any]:
    page = settings.status_page
    override = page.override(service.name)
    return {
        "interval": _interval_seconds(settings, service),
        "retry_interval": int(seconds(page.retry_interval)),
        "max_retries": override.retries if override.retries is not None else page.retries,
        "active": True,
        "notification_name_list": notification_ids(settings),
    }


def _interval_seconds(settings: Settings, service: MonitoredService) -> int:
    override = settings.status_page.override(service.name)
    return int(seconds(override.interval or settings.status_page.interval))


def _timeout(settings: Settings, service: MonitoredService) -> int:
    return min(MAX_TIMEOUT_SECONDS, int(_interval_seconds(settings, service) * 0.8))


def _literal(text: str) -> str:
    # AutoKuma renders every value as a Tera template; text from the settings stays literal.
    if any(marker in text for marker in _TEMPLATE_MARKERS):
        return f"{{% raw %}}{text}{{% endraw %}}"
    return text


def _json(entity: dict[str, Any]) -> str:
    return json.dumps(entity, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
