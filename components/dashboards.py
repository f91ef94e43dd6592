"""What every component's Grafana dashboards share: datasource uids, paths and JSON encoding.

Dashboards are built with grafana-foundation-sdk and reach Grafana as files; a provider reads
`DASHBOARDS_DIR`, one folder in Grafana per sub-directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef, RowPanel

PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
ALERTMANAGER_UID = "alertmanager"

LOGS_DASHBOARD_UID = "logs"
"""The logging stack's logs dashboard, which the metrics dashboards link to when it runs."""

DATASOURCE_TYPES = {
    PROMETHEUS_UID: "prometheus",
    LOKI_UID: "loki",
    ALERTMANAGER_UID: "alertmanager",
}
"""The plugin type of each provisioned datasource, by uid."""

PROVISIONING_DIR = "/etc/grafana/provisioning"
# Outside /var/lib/grafana, which is a volume: a dashboard dropped from the program must not
# linger there after the container is replaced.
DASHBOARDS_DIR = "/etc/grafana/dashboards"


def datasource(uid: str) -> DataSourceRef:
    """A reference to one provisioned datasource, such as `datasource(PROMETHEUS_UID)`."""
    return DataSourceRef(type_val=DATASOURCE_TYPES[uid], uid=uid)


def read_only_dashboard(
    uid: str,
    title: str,
    description: str,
    *,
    tags: Sequence[str],
    time_range: tuple[str, str],
    refresh: str,
) -> Dashboard:
    """A dashboard people read but never edit in Grafana, in the browser's time zone, with a
    crosshair shared across its panels."""
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(list(tags))
        .time(*time_range)
        .refresh(refresh)
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
    )


def dashboard_path(folder: str, uid: str) -> str:
    """Where a dashboard's JSON goes in the Grafana container; `folder` names its Grafana folder."""
    return f"{DASHBOARDS_DIR}/{folder}/{uid}.json"


def encode_dashboard(dashboard: Dashboard) -> str:
    """The dashboard as JSON text: sorted keys, numbered panels, the same bytes on every run."""
    model = dashboard.build()
    if not model.uid:
        raise ValueError(f"dashboard {model.title!r} needs a fixed uid")

    # Grafana numbers panels itself when ids are missing, differently on each save; fixed ids
    # keep links to a panel (`viewPanel=3`) stable.
    number = 0
    for panel in model.panels or []:
        number += 1
        panel.id_val = number
        if isinstance(panel, RowPanel):
            for nested in panel.panels:
                number += 1
                nested.id_val = number

    return json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def dashboard_file(folder: str, dashboard: Dashboard) -> tuple[str, str]:
    """The path and JSON text of a dashboard file in Grafana's `folder`."""
    text = encode_dashboard(dashboard)
    return dashboard_path(folder, str(dashboard.build().uid)), text
