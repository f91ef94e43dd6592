"""The HTTP services dashboard: request rate, error ratio and latency of each service.

The services expose prometheus-fastapi-instrumentator's metrics: `http_requests_total` with
`handler`, `method` and `status` (grouped as `2xx`, `5xx` by default) and the
`http_request_duration_seconds` histogram with `handler` and `method`; Prometheus adds `job`.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row
from grafana_foundation_sdk.models.dashboard import DashboardLinkType

from components.dashboards import LOGS_DASHBOARD_UID
from components.metrics.dashboards._panels import (
    RATE_WINDOW,
    label_variable,
    new_dashboard,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
)
from config.settings import Settings

UID = "http-services"
TITLE = "HTTP services"

SERVICE = 'job=~"$job", handler=~"$handler"'
# `5..` matches both the grouped `5xx` and exact codes such as `503`.
SERVER_ERROR = f'{SERVICE}, status=~"5.."'
QUANTILES = (0.5, 0.9, 0.99)


def _requests(selector: str, by: str) -> str:
    return f"sum by ({by}) (rate(http_requests_total{{{selector}}}[{RATE_WINDOW}]))"


def _error_ratio(by: str) -> str:
    return f"{_requests(SERVER_ERROR, by)} / {_requests(SERVICE, by)}"


def _latency(quantile: float, by: str) -> str:
    return (
        f"histogram_quantile({quantile}, sum by ({by}, le) "
        f"(rate(http_request_duration_seconds_bucket{{{SERVICE}}}[{RATE_WINDOW}])))"
    )


def http_services_dashboard(settings: Settings) -> Dashboard:
    """Traffic, errors and latency per service `job`; links to the logs when logging runs."""
    error_limit = thresholds((settings.alerts.api_error_ratio, "red"))
    dashboard = (
        new_dashboard(UID, TITLE, "The product's HTTP services: traffic, errors and latency.")
        .with_variable(
            label_variable("job", title="Service", label="job", series="http_requests_total")
        )
        .with_variable(
            label_variable(
                "handler",
                title="Handler",
                label="handler",
                series='http_requests_total{job=~"$job"}',
            )
        )
    )
    if settings.components.logging:
        dashboard = dashboard.link(
            DashboardLink("Logs")
            .type(DashboardLinkType.LINK)
            .url(f"/d/{LOGS_DASHBOARD_UID}")
            .icon("doc")
            .tooltip("The same services' logs over the same time range")
            .include_vars(True)
            .keep_time(True)
        )

    return (
        dashboard.with_row(Row("Overview"))
        .with_panel(
            stat_panel(
                "Requests",
                [query(_requests(SERVICE, "job"), "{{job}}")],
                unit="reqps",
                width=8,
            )
        )
        .with_panel(
            stat_panel(
                "Server error ratio",
                [query(_error_ratio("job"), "{{job}}")],
                unit="percentunit",
                limits=error_limit,
                width=8,
            )
        )
        .with_panel(
            stat_panel(
                "Latency p99",
                [query(_latency(0.99, "job"), "{{job}}")],
                unit="s",
                width=8,
            )
        )
        .with_row(Row("Traffic"))
        .with_panel(
            timeseries_panel(
                "Requests by service",
                [query(_requests(SERVICE, "job"), "{{job}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Requests by status",
                [query(_requests(SERVICE, "job, status"), "{{job}} {{status}}")],
                unit="reqps",
                stacked=True,
            )
        )
        .with_row(Row("Errors"))
        .with_panel(
            timeseries_panel(
                "Server error ratio",
                [query(_error_ratio("job"), "{{job}}")],
                unit="percentunit",
                limits=error_limit,
                description="Share of requests answered with a 5xx; the line is the alert.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Server errors by handler",
                [
                    query(
                        _requests(SERVER_ERROR, "job, method, handler"),
                        "{{job}} {{method}} {{handler}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_row(Row("Latency"))
        .with_panel(
            timeseries_panel(
                "Latency percentiles",
                [
                    query(
                        _latency(quantile, "job"), f"{{{{job}}}} p{round(quantile * 100)}", ref_id
                    )
                    for quantile, ref_id in zip(QUANTILES, "ABC", strict=True)
                ],
                unit="s",
                description="From the request duration histogram; accurate to its buckets.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Latency p99 by handler",
                [query(_latency(0.99, "job, method, handler"), "{{job}} {{method}} {{handler}}")],
                unit="s",
            )
        )
    )
