"""The Blackbox Exporter's modules."""

from __future__ import annotations

import yaml

CONFIG_PATH = "/etc/blackbox_exporter/config.yml"
PORT = 9115


def render_blackbox_config() -> str:
    """The text of the blackbox exporter's config file."""
    return yaml.safe_dump({"modules": {"http_2xx": {"prober": "http"}}})


def container_extras() -> dict[str, object]:
    """Container settings the probes need (ICMP needs a raw-socket capability)."""
    return {}
