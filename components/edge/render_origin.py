"""The origin's reverse proxy: Caddy's JSON configuration, built as a structure.

Caddy terminates TLS with the Cloudflare Origin CA certificate, accepts only connections whose
client certificate Cloudflare's origin-pull CA signed (authenticated origin pulls), and routes
each public host name to its container on the stack's Docker networks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.edge import HostRole
from config.settings import Settings

CONFIG_PATH = "/etc/caddy/caddy.json"
TLS_DIR = "/etc/caddy/tls"
CERTIFICATE_FILE = "origin.pem"
KEY_FILE = "origin-key.pem"
CLIENT_CA_FILE = "cloudflare-origin-pull-ca.pem"
HTTPS_PORT = 443
HEALTH_LISTEN = "127.0.0.1:8081"
CERTIFICATE_TAG = "cloudflare-origin"

GRAFANA_UPSTREAM = "grafana:3000"
STATUS_PAGE_UPSTREAM = "uptime-kuma:3001"

ORIGIN_PULL_CA = (Path(__file__).parent / CLIENT_CA_FILE).read_text()
"""Cloudflare's public CA for authenticated origin pulls (zone level), valid until 2029-11-01."""


def origin_upstreams(settings: Settings) -> dict[HostRole, str]:
    """Each public role the origin serves and the container address it proxies to."""
    origin = settings.edge.origin
    upstreams: dict[HostRole, str] = {}
    if origin is not None and origin.app_upstream:
        upstreams["app"] = origin.app_upstream
    if origin is not None and origin.api_upstream:
        upstreams["api"] = origin.api_upstream
    if settings.components.metrics:
        upstreams["grafana"] = GRAFANA_UPSTREAM
    if settings.components.status_page:
        upstreams["status"] = STATUS_PAGE_UPSTREAM
    return upstreams


def origin_routes(settings: Settings) -> dict[str, str]:
    """Host name to upstream address, for every host name this stack's origin serves."""
    hostnames = settings.hostnames.model_dump()
    return {hostnames[role]: upstream for role, upstream in origin_upstreams(settings).items()}


def needs_app_network(settings: Settings) -> bool:
    """Whether the proxy must join the product's Docker network to reach the app or the API."""
    return bool({"app", "api"} & set(origin_upstreams(settings)))


def caddy_config(
    routes: Mapping[str, str],
    *,
    tls_dir: str = TLS_DIR,
    listen: str = f":{HTTPS_PORT}",
    health_listen: str = HEALTH_LISTEN,
) -> dict[str, Any]:
    """Caddy's configuration for host name to upstream `routes`, as a JSON structure."""
    host_routes: list[dict[str, Any]] = [
        {
            "match": [{"host": [hostname]}],
            "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": upstream}]}],
            "terminal": True,
        }
        for hostname, upstream in sorted(routes.items())
    ]
    # Cloudflare only asks for our host names; anything else was misdirected.
    host_routes.append({"handle": [{"handler": "static_response", "status_code": 421}]})

    origin_server = {
        "listen": [listen],
        "routes": host_routes,
        # The certificate comes from Cloudflare's Origin CA; there is nothing to obtain.
        "automatic_https": {"disable": True},
        "tls_connection_policies": [
            {
                "certificate_selection": {"any_tag": [CERTIFICATE_TAG]},
                "protocol_min": "tls1.2",
                # Limitation: the file-based CA list is deprecated since Caddy 2.8 in favour of a
                # `ca` pool, which Debian's Caddy 2.6 (the validator) lacks; 2.11 reads both.
                "client_authentication": {
                    "mode": "require_and_verify",
                    "trusted_ca_certs_pem_files": [f"{tls_dir}/{CLIENT_CA_FILE}"],
                },
            }
        ],
        "logs": {},
    }
    health_server = {
        "listen": [health_listen],
        "automatic_https": {"disable": True},
        "routes": [{"handle": [{"handler": "static_response", "status_code": 200}]}],
    }
    return {
        # No admin endpoint: the configuration changes only with a new container.
        "admin": {"disabled": True, "config": {"persist": False}},
        "apps": {
            "http": {"servers": {"origin": origin_server, "health": health_server}},
            "tls": {
                "certificates": {
                    "load_files": [
                        {
                            "certificate": f"{tls_dir}/{CERTIFICATE_FILE}",
                            "key": f"{tls_dir}/{KEY_FILE}",
                            "tags": [CERTIFICATE_TAG],
                        }
                    ]
                }
            },
        },
    }


def render_caddy_config(settings: Settings) -> str:
    """`caddy.json` for this stack's origin."""
    return json.dumps(caddy_config(origin_routes(settings)), indent=2, sort_keys=True) + "\n"


def caddy_command() -> list[str]:
    """The proxy container's command: run Caddy on the JSON configuration."""
    return ["caddy", "run", "--config", CONFIG_PATH]


def health_url() -> str:
    """Where the container's health check asks; reachable only inside the container."""
    return f"http://{HEALTH_LISTEN}/"
