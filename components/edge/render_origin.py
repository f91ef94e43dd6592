"""The origin's reverse proxy: Caddy's JSON configuration, built as a structure.

Caddy terminates TLS with the Cloudflare Origin CA certificate, accepts only connections whose
client certificate Cloudflare's origin-pull CA signed (authenticated origin pulls), and routes
each public host name to its container on the stack's Docker networks. The status host name
passes on only what a visitor's browser needs for the one status page: Uptime Kuma's setup,
login, dashboard and socket.io API are reached through an SSH tunnel to its loopback port.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
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

# Files at the root of Uptime Kuma 2.0's web app that the status page's HTML links to.
STATUS_PAGE_FILES = (
    "/apple-touch-icon-precomposed.png",
    "/apple-touch-icon.png",
    "/favicon.ico",
    "/icon-192x192.png",
    "/icon-512x512.png",
    "/icon.svg",
    "/manifest.json",
    "/robots.txt",
)


@dataclass(frozen=True)
class StatusPageRoute:
    """The status host name: one public status page, and nothing of Uptime Kuma's admin side."""

    hostname: str
    upstream: str
    slug: str

    @property
    def page_path(self) -> str:
        """Where the status page lives; the host name's root redirects here."""
        return f"/status/{self.slug}"

    def public_paths(self) -> list[str]:
        """Caddy path patterns a visitor's browser requests to show the status page."""
        slug = self.slug
        # Uptime Kuma 2.0's status page polls these over plain HTTP; only its edit mode, which
        # operators use through the tunnel, opens socket.io.
        return [
            self.page_path,
            f"{self.page_path}/*",
            f"/api/status-page/{slug}",
            f"/api/status-page/{slug}/*",
            f"/api/status-page/heartbeat/{slug}",
            "/api/badge/*",
            "/assets/*",
            "/upload/*",
            *STATUS_PAGE_FILES,
        ]


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
    """Host name to upstream address, for every host name proxied whole (all but the status)."""
    hostnames = settings.hostnames.model_dump()
    return {
        hostnames[role]: upstream
        for role, upstream in origin_upstreams(settings).items()
        if role != "status"
    }


def status_page_route(settings: Settings) -> StatusPageRoute | None:
    """The status host name's route, when this stack serves the status page."""
    upstream = origin_upstreams(settings).get("status")
    if upstream is None:
        return None
    return StatusPageRoute(
        hostname=settings.hostnames.status, upstream=upstream, slug=settings.status_page.slug
    )


def needs_app_network(settings: Settings) -> bool:
    """Whether the proxy must join the product's Docker network to reach the app or the API."""
    return bool({"app", "api"} & set(origin_upstreams(settings)))


def reverse_proxy(upstream: str) -> dict[str, Any]:
    """A Caddy handler that proxies to one upstream address."""
    return {"handler": "reverse_proxy", "upstreams": [{"dial": upstream}]}


def status_host_route(status_page: StatusPageRoute) -> dict[str, Any]:
    """The status host name's route: redirect the root, proxy the page, refuse the rest."""
    routes = [
        {
            "match": [{"path": ["/"]}],
            "handle": [
                {
                    "handler": "static_response",
                    "status_code": 302,
                    "headers": {"Location": [status_page.page_path]},
                }
            ],
            "terminal": True,
        },
        {
            "match": [{"method": ["GET", "HEAD"], "path": status_page.public_paths()}],
            "handle": [reverse_proxy(status_page.upstream)],
            "terminal": True,
        },
        # Setup, login, dashboard, socket.io, push, metrics and the REST API stay unreachable.
        {"handle": [{"handler": "static_response", "status_code": 404}], "terminal": True},
    ]
    return {
        "match": [{"host": [status_page.hostname]}],
        "handle": [{"handler": "subroute", "routes": routes}],
        "terminal": True,
    }


def caddy_config(
    routes: Mapping[str, str],
    *,
    status_page: StatusPageRoute | None = None,
    tls_dir: str = TLS_DIR,
    listen: str = f":{HTTPS_PORT}",
    health_listen: str = HEALTH_LISTEN,
) -> dict[str, Any]:
    """Caddy's configuration as a JSON structure: `routes` proxied whole, then the status page."""
    host_routes: list[dict[str, Any]] = [
        {
            "match": [{"host": [hostname]}],
            "handle": [reverse_proxy(upstream)],
            "terminal": True,
        }
        for hostname, upstream in sorted(routes.items())
    ]
    if status_page is not None:
        host_routes.append(status_host_route(status_page))
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
    config = caddy_config(origin_routes(settings), status_page=status_page_route(settings))
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def caddy_command() -> list[str]:
    """The proxy container's command: run Caddy on the JSON configuration."""
    return ["caddy", "run", "--config", CONFIG_PATH]


def health_url() -> str:
    """Where the container's health check asks; reachable only inside the container."""
    return f"http://{HEALTH_LISTEN}/"
