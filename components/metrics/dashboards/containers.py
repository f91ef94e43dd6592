"""The containers dashboard: CPU, memory against its limit, restarts and network, from cAdvisor."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

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

UID = "containers"
TITLE = "Containers"

# cAdvisor also reports cgroups that are not containers; only containers have a name.
CONTAINER = 'name=~"$container", name!=""'
# The same window as the restart alert.
RESTART_WINDOW = "15m"


def containers_dashboard(settings: Settings) -> Dashboard:
    """Every Docker container on the host as cAdvisor sees it; lines mark the alert thresholds."""
    alerts = settings.alerts
    memory_limit = thresholds((alerts.container_memory_percent / 100, "red"))
    restart_limit = thresholds((alerts.container_restarts, "red"), base="green")
    memory_of_limit = (
        f"max by (name) (container_memory_working_set_bytes{{{CONTAINER}}}) "
        f"/ max by (name) (container_spec_memory_limit_bytes{{{CONTAINER}}} > 0)"
    )
    restarts = (
        f"max by (name) (changes(container_start_time_seconds{{{CONTAINER}}}[{RESTART_WINDOW}]))"
    )

    return (
        new_dashboard(
            UID, TITLE, "Docker containers: CPU, memory and its limit, restarts, network."
        )
        .with_variable(
            label_variable(
                "container", title="Container", label="name", series='container_last_seen{name!=""}'
            )
        )
        .with_row(Row("Overview"))
        .with_panel(
            stat_panel(
                "Containers",
                [query(f"count(max by (name) (container_last_seen{{{CONTAINER}}}))", "running")],
                unit="short",
                width=6,
                graph=False,
            )
        )
        .with_panel(
            stat_panel(
                "Highest memory use of limit",
                [query(f"max({memory_of_limit})", "highest")],
                unit="percentunit",
                limits=memory_limit,
                width=9,
            )
        )
        .with_panel(
            stat_panel(
                f"Restarts in the last {RESTART_WINDOW}",
                [query(f"sum({restarts})", "restarts")],
                unit="short",
                limits=restart_limit,
                width=9,
            )
        )
        .with_row(Row("CPU and memory"))
        .with_panel(
            timeseries_panel(
                "CPU",
                [
                    query(
                        f"sum by (name) (rate(container_cpu_usage_seconds_total{{{CONTAINER}}}"
                        f"[{RATE_WINDOW}]))",
                        "{{name}}",
                    )
                ],
                unit="short",
                description="Cores in use by each container.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Memory used of limit",
                [query(memory_of_limit, "{{name}}")],
                unit="percentunit",
                maximum=1,
                limits=memory_limit,
                description="Working set over the container's memory limit; the kernel kills "
                "the container at 100%. Containers without a limit are left out.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Memory and limit",
                [
                    query(
                        f"max by (name) (container_memory_working_set_bytes{{{CONTAINER}}})",
                        "{{name}} used",
                        "A",
                    ),
                    query(
                        f"max by (name) (container_spec_memory_limit_bytes{{{CONTAINER}}} > 0)",
                        "{{name}} limit",
                        "B",
                    ),
                ],
                unit="bytes",
                width=24,
            )
        )
        .with_row(Row("Restarts and network"))
        .with_panel(
            timeseries_panel(
                f"Restarts in the last {RESTART_WINDOW}",
                [query(restarts, "{{name}}")],
                unit="short",
                limits=restart_limit,
                width=8,
                description="How often each container started within the window; the line is "
                "the restart alert.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Network received",
                [
                    query(
                        f"sum by (name) (rate(container_network_receive_bytes_total{{{CONTAINER}}}"
                        f"[{RATE_WINDOW}]))",
                        "{{name}}",
                    )
                ],
                unit="Bps",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Network sent",
                [
                    query(
                        f"sum by (name) (rate(container_network_transmit_bytes_total{{{CONTAINER}}}"
                        f"[{RATE_WINDOW}]))",
                        "{{name}}",
                    )
                ],
                unit="Bps",
                width=8,
            )
        )
    )
