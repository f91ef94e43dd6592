"""The uptime dashboard: Blackbox Exporter's probes of each service's public health URL."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from components.metrics.dashboards._panels import (
    instant_query,
    label_variable,
    new_dashboard,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
    value_texts,
)
from config.settings import Settings

UID = "probes"
TITLE = "Uptime probes"

TARGET = 'instance=~"$instance"'
SECONDS_PER_DAY = 86400


def probes_dashboard(settings: Settings) -> Dashboard:
    """Is each URL up, how fast, with which status, and how long its TLS certificate lasts."""
    alerts = settings.alerts
    up_or_down = value_texts({"0": ("Down", "red"), "1": ("Up", "green")})
    slow_limit = thresholds((alerts.probe_slow_seconds, "red"))
    expiry_limit = thresholds(
        (alerts.tls_expiry_days, "orange"), (2 * alerts.tls_expiry_days, "green"), base="red"
    )
    # No answer at all reports status 0, which stays red with the 4xx and 5xx codes.
    status_colours = thresholds((200, "green"), (300, "orange"), (400, "red"), base="red")

    return (
        new_dashboard(UID, TITLE, "The public URLs as a visitor reaches them, probed from here.")
        .with_variable(
            label_variable("instance", title="URL", label="instance", series="probe_success")
        )
        .with_row(Row("Now"))
        .with_panel(
            stat_panel(
                "Status",
                [instant_query(f"probe_success{{{TARGET}}}", "{{instance}}")],
                unit="none",
                mappings=up_or_down,
                limits=thresholds((1, "green"), base="red"),
                width=8,
                graph=False,
            )
        )
        .with_panel(
            stat_panel(
                "Uptime over the time range",
                [
                    instant_query(
                        f"avg_over_time(probe_success{{{TARGET}}}[$__range])", "{{instance}}"
                    )
                ],
                unit="percentunit",
                limits=thresholds((0.99, "orange"), (0.999, "green"), base="red"),
                width=6,
                graph=False,
            )
        )
        .with_panel(
            stat_panel(
                "HTTP status",
                [instant_query(f"probe_http_status_code{{{TARGET}}}", "{{instance}}")],
                unit="none",
                limits=status_colours,
                width=5,
                graph=False,
            )
        )
        .with_panel(
            stat_panel(
                "TLS certificate expires in",
                [
                    instant_query(
                        f"(probe_ssl_earliest_cert_expiry{{{TARGET}}} - time()) "
                        f"/ {SECONDS_PER_DAY}",
                        "{{instance}}",
                    )
                ],
                unit="d",
                limits=expiry_limit,
                width=5,
                graph=False,
                description=f"Days until the earliest certificate in the chain expires; the "
                f"alert fires below {alerts.tls_expiry_days}.",
            )
        )
        .with_row(Row("History"))
        .with_panel(
            timeseries_panel(
                "Probe success",
                [query(f"probe_success{{{TARGET}}}", "{{instance}}")],
                unit="none",
                maximum=1,
                description="1 when the probe got the expected answer, 0 when it did not.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Probe duration",
                [query(f"probe_duration_seconds{{{TARGET}}}", "{{instance}}")],
                unit="s",
                limits=slow_limit,
                description="The whole probe, DNS to last byte; the line is the slow-probe alert.",
            )
        )
        .with_panel(
            timeseries_panel(
                "HTTP phases",
                [
                    query(
                        f"sum by (instance, phase) (probe_http_duration_seconds{{{TARGET}}})",
                        "{{instance}} {{phase}}",
                    )
                ],
                unit="s",
                stacked=True,
                description="Where the time goes: resolve, connect, tls, processing, transfer.",
            )
        )
        .with_panel(
            timeseries_panel(
                "HTTP status",
                [query(f"probe_http_status_code{{{TARGET}}}", "{{instance}}")],
                unit="none",
                limits=status_colours,
            )
        )
    )
