"""The host dashboard: CPU, memory, disks, network and load, from Node Exporter."""

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

UID = "host"
TITLE = "Host"

HOST = 'instance=~"$instance"'
# Pseudo and container file systems would show as full or duplicate the host's own disks.
FILESYSTEMS = f'{HOST}, fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|autofs|fuse.*"'
# Docker's bridges and veth pairs mirror the containers' traffic already counted on the uplink.
INTERFACES = f'{HOST}, device!~"lo|veth.*|docker.*|br-.*"'
DISKS = f'{HOST}, device!~"loop.*|ram.*|dm-.*"'


def host_dashboard(settings: Settings) -> Dashboard:
    """The Docker host as Node Exporter sees it; lines mark the alert thresholds."""
    alerts = settings.alerts
    cpu_limit = thresholds((alerts.cpu_percent / 100, "red"))
    memory_limit = thresholds((alerts.memory_percent / 100, "red"))
    disk_limit = thresholds((1 - alerts.disk_free_percent / 100, "red"))
    cpu_busy = (
        f"1 - avg by (instance) "
        f'(rate(node_cpu_seconds_total{{{HOST}, mode="idle"}}[{RATE_WINDOW}]))'
    )
    memory_used = (
        f"1 - node_memory_MemAvailable_bytes{{{HOST}}} / node_memory_MemTotal_bytes{{{HOST}}}"
    )
    cores = f'count by (instance) (node_cpu_seconds_total{{{HOST}, mode="idle"}})'

    return (
        new_dashboard(UID, TITLE, "The Docker host: CPU, memory, disks, network and load.")
        .with_variable(
            label_variable("instance", title="Host", label="instance", series="node_uname_info")
        )
        .with_row(Row("Overview"))
        .with_panel(
            stat_panel(
                "CPU busy",
                [query(cpu_busy, "{{instance}}")],
                unit="percentunit",
                limits=cpu_limit,
                width=5,
            )
        )
        .with_panel(
            stat_panel(
                "Memory used",
                [query(memory_used, "{{instance}}")],
                unit="percentunit",
                limits=memory_limit,
                width=5,
            )
        )
        .with_panel(
            stat_panel(
                "Root disk used",
                [
                    query(
                        f'1 - node_filesystem_avail_bytes{{{HOST}, mountpoint="/"}} '
                        f'/ node_filesystem_size_bytes{{{HOST}, mountpoint="/"}}',
                        "{{instance}}",
                    )
                ],
                unit="percentunit",
                limits=disk_limit,
                width=5,
            )
        )
        .with_panel(
            stat_panel(
                "Load per core (5m)",
                [query(f"node_load5{{{HOST}}} / on (instance) {cores}", "{{instance}}")],
                unit="short",
                limits=thresholds((1, "orange"), (2, "red")),
                width=5,
            )
        )
        .with_panel(
            stat_panel(
                "Uptime",
                [query(f"time() - node_boot_time_seconds{{{HOST}}}", "{{instance}}")],
                unit="s",
                width=4,
                graph=False,
            )
        )
        .with_row(Row("CPU and load"))
        .with_panel(
            timeseries_panel(
                "CPU by mode",
                [
                    query(
                        f"sum by (instance, mode) (rate(node_cpu_seconds_total"
                        f'{{{HOST}, mode!="idle"}}[{RATE_WINDOW}])) / on (instance) group_left '
                        f"{cores}",
                        "{{mode}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                limits=cpu_limit,
                stacked=True,
                description="Share of all cores spent in each mode; the line is the alert.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Load average",
                [
                    query(f"node_load1{{{HOST}}}", "1m", "A"),
                    query(f"node_load5{{{HOST}}}", "5m", "B"),
                    query(f"node_load15{{{HOST}}}", "15m", "C"),
                    query(cores, "cores", "D"),
                ],
                unit="short",
                description="Runnable and waiting tasks; above the core count work queues up.",
            )
        )
        .with_row(Row("Memory"))
        .with_panel(
            timeseries_panel(
                "Memory used",
                [query(memory_used, "{{instance}}")],
                unit="percentunit",
                maximum=1,
                limits=memory_limit,
                description="Memory not available to new work without swapping.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Memory",
                [
                    query(
                        f"node_memory_MemTotal_bytes{{{HOST}}} "
                        f"- node_memory_MemAvailable_bytes{{{HOST}}}",
                        "used",
                        "A",
                    ),
                    query(
                        f"node_memory_Cached_bytes{{{HOST}}} + node_memory_Buffers_bytes{{{HOST}}}",
                        "cache and buffers",
                        "B",
                    ),
                    query(f"node_memory_MemTotal_bytes{{{HOST}}}", "total", "C"),
                    query(
                        f"node_memory_SwapTotal_bytes{{{HOST}}} "
                        f"- node_memory_SwapFree_bytes{{{HOST}}}",
                        "swap used",
                        "D",
                    ),
                ],
                unit="bytes",
            )
        )
        .with_row(Row("Disks"))
        .with_panel(
            timeseries_panel(
                "File system used",
                [
                    query(
                        f"1 - node_filesystem_avail_bytes{{{FILESYSTEMS}}} "
                        f"/ node_filesystem_size_bytes{{{FILESYSTEMS}}}",
                        "{{mountpoint}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                limits=disk_limit,
                description="Space used per mount point; the line is where the disk alert fires.",
            )
        )
        .with_panel(
            timeseries_panel(
                "Disk throughput",
                [
                    query(
                        f"rate(node_disk_read_bytes_total{{{DISKS}}}[{RATE_WINDOW}])",
                        "{{device}} read",
                        "A",
                    ),
                    query(
                        f"rate(node_disk_written_bytes_total{{{DISKS}}}[{RATE_WINDOW}])",
                        "{{device}} written",
                        "B",
                    ),
                ],
                unit="Bps",
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                "Disk busy",
                [
                    query(
                        f"rate(node_disk_io_time_seconds_total{{{DISKS}}}[{RATE_WINDOW}])",
                        "{{device}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                width=6,
                description="Share of time each disk had I/O in flight.",
            )
        )
        .with_row(Row("Network"))
        .with_panel(
            timeseries_panel(
                "Network traffic",
                [
                    query(
                        f"rate(node_network_receive_bytes_total{{{INTERFACES}}}[{RATE_WINDOW}])",
                        "{{device}} received",
                        "A",
                    ),
                    query(
                        f"rate(node_network_transmit_bytes_total{{{INTERFACES}}}[{RATE_WINDOW}])",
                        "{{device}} sent",
                        "B",
                    ),
                ],
                unit="Bps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Network errors and drops",
                [
                    query(
                        f"rate(node_network_receive_errs_total{{{INTERFACES}}}[{RATE_WINDOW}]) "
                        f"+ rate(node_network_transmit_errs_total{{{INTERFACES}}}[{RATE_WINDOW}])",
                        "{{device}} errors",
                        "A",
                    ),
                    query(
                        f"rate(node_network_receive_drop_total{{{INTERFACES}}}[{RATE_WINDOW}]) "
                        f"+ rate(node_network_transmit_drop_total{{{INTERFACES}}}[{RATE_WINDOW}])",
                        "{{device}} drops",
                        "B",
                    ),
                ],
                unit="pps",
            )
        )
    )
