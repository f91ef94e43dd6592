"""Every container image this program runs, pinned in one place.

Bump a version here and nowhere else; the preview diff then shows every container it touches.
"""

# Limitation: the tests validate with Debian 12's promtool, amtool, blackbox exporter and Caddy,
# older than these images, so the rendered files keep to what both versions accept.

from __future__ import annotations

IMAGES: dict[str, str] = {
    "alertmanager": "prom/alertmanager:v0.28.1",
    # Grafana Alloy replaces Promtail, which reached its end of life in March 2026.
    "alloy": "grafana/alloy:v1.21.1",
    # AutoKuma 2.x speaks Uptime Kuma 2's API; its `uptime-kuma-v1-` tags are for Uptime Kuma 1.
    "autokuma": "ghcr.io/bigboot/autokuma:2.0.0",
    # Archives volumes and dumps to S3 on cron schedules; maintained by offen.software.
    "backup": "offen/docker-volume-backup:v2.47.2",
    "blackbox": "prom/blackbox-exporter:v0.27.0",
    # At least 2.11.1: older Caddy accepts any client certificate when its CA file is unreadable.
    "caddy": "caddy:2.11.4-alpine",
    # cAdvisor publishes new releases on ghcr.io since v0.54.0; gcr.io only has older ones.
    "cadvisor": "ghcr.io/google/cadvisor:v0.54.0",
    # 12.4 is the last 12.x minor, with extended support until May 2027.
    "grafana": "grafana/grafana:12.4.12",
    # Distroless since 3.6: no shell or wget; the binary checks itself with `-health`.
    "loki": "grafana/loki:3.7.8",
    "node-exporter": "prom/node-exporter:v1.9.1",
    # pg_dump must be at least the database server's major version.
    "postgres": "postgres:17.6-alpine",
    "prometheus": "prom/prometheus:v3.5.0",
    "pushgateway": "prom/pushgateway:v1.11.3",
    "uptime-kuma": "louislam/uptime-kuma:2.0.2",
}


def image(role: str) -> str:
    """The pinned image reference of one role, such as `prometheus`."""
    return IMAGES[role]
