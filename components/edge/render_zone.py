"""The zone's TLS settings and the proxied DNS records of a stack's public host names."""

from __future__ import annotations

from dataclasses import dataclass

from components.edge.render_origin import origin_upstreams
from config.edge import HostRole
from config.settings import Settings

ZONE_SETTINGS: tuple[tuple[str, str], ...] = (
    ("ssl", "strict"),
    ("always_use_https", "on"),
    ("min_tls_version", "1.2"),
    ("tls_1_3", "on"),
    ("automatic_https_rewrites", "on"),
    ("browser_check", "on"),
)
"""Zone setting id and value; one `ZoneSetting` resource each in provider version 6."""

AUTOMATIC_TTL = 1
"""A TTL of 1 means "automatic", the only TTL a proxied record has."""


@dataclass(frozen=True)
class DnsRecord:
    """A proxied record pointing one public host name at the origin."""

    role: HostRole
    name: str
    type: str
    content: str


def dns_records(settings: Settings) -> list[DnsRecord]:
    """One proxied record per host name the origin serves, in a fixed order."""
    origin = settings.edge.origin
    if origin is None:
        return []
    hostnames = settings.hostnames.model_dump()
    return [
        DnsRecord(role=role, name=hostnames[role], type=origin.record_type, content=origin.address)
        for role in origin_upstreams(settings)
    ]


def certificate_hostnames(settings: Settings) -> list[str]:
    """The names the origin certificate covers: every host name the origin serves."""
    return sorted(record.name for record in dns_records(settings))
