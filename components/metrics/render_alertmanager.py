"""alertmanager.yml and the secret files it reads, rendered from the settings."""

from __future__ import annotations

import pulumi
import yaml

from config.secrets import StackSecrets
from config.settings import Settings

CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
SECRETS_DIR = "/etc/alertmanager/secrets"
USER = "nobody"


def alertmanager_flags() -> list[str]:
    """Alertmanager's flags."""
    return [f"--config.file={CONFIG_PATH}", "--storage.path=/alertmanager"]


def render_alertmanager_config(settings: Settings) -> str:
    """The text of alertmanager.yml."""
    return yaml.safe_dump({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})


def secret_files(secrets: StackSecrets) -> list[tuple[str, pulumi.Output[str]]]:
    """(path, secret value) of every secret file Alertmanager reads."""
    files = []
    for key in ("slack_webhook_url", "pagerduty_routing_key", "smtp_password"):
        value = getattr(secrets, key)
        if value is not None:
            files.append((f"{SECRETS_DIR}/{key}", value))
    return files
