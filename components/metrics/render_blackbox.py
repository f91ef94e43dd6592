"""The Blackbox Exporter's modules, rendered from the settings.

The file stays in the subset that both the image (v0.27) and Debian's exporter 0.23 (the
validator in CI) accept.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from config.metrics import probe_timeout_seconds
from config.settings import MonitoredService, Settings

CONFIG_PATH = "/etc/blackbox_exporter/config.yml"
PORT = 9115
HTTP_2XX = "http_2xx"

# Docker networks are IPv4 unless configured otherwise; asking for IPv6 first wastes a lookup.
_IP_PROTOCOL = {"preferred_ip_protocol": "ip4"}
# The characters Go's regexp.QuoteMeta escapes; RE2 rejects escapes of anything else.
_GO_REGEXP_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def render_blackbox_config(settings: Settings) -> str:
    """The text of the Blackbox Exporter's config file."""
    return yaml.safe_dump(blackbox_config(settings), sort_keys=True, default_flow_style=False)


def blackbox_config(settings: Settings) -> dict[str, Any]:
    """The exporter's modules: generic ones, and one per service expecting more than a 2xx."""
    timeout = f"{probe_timeout_seconds(settings.metrics):g}s"
    modules: dict[str, dict[str, Any]] = {
        HTTP_2XX: {"prober": "http", "timeout": timeout, "http": dict(_IP_PROTOCOL)},
        "tcp_connect": {"prober": "tcp", "timeout": timeout, "tcp": dict(_IP_PROTOCOL)},
        # ICMP needs a raw socket: the container gets CAP_NET_RAW.
        "icmp": {"prober": "icmp", "timeout": timeout, "icmp": dict(_IP_PROTOCOL)},
    }
    for service in settings.services:
        module = module_for(service)
        if module != HTTP_2XX:
            modules[module] = {"prober": "http", "timeout": timeout, "http": http_probe(service)}
    return {"modules": modules}


def module_for(service: MonitoredService) -> str:
    """The module that probes a service's health URL."""
    if service.expected_status == 200 and service.keyword is None:
        return HTTP_2XX
    return f"http_{service.name}"


def http_probe(service: MonitoredService) -> dict[str, Any]:
    """The HTTP prober settings that check a service's expected status and keyword."""
    probe: dict[str, Any] = {**_IP_PROTOCOL, "valid_status_codes": [service.expected_status]}
    if 300 <= service.expected_status < 400:
        # A redirect is the answer expected here, not a step towards it.
        probe["follow_redirects"] = False
    if service.keyword is not None:
        probe["fail_if_body_not_matches_regexp"] = [go_regexp_literal(service.keyword)]
    return probe


def go_regexp_literal(text: str) -> str:
    """A Go regular expression matching `text` literally."""
    return _GO_REGEXP_SPECIAL.sub(r"\\\1", text)
