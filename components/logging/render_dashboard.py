"""The logs dashboard: error rate per service, recent error lines, one request's lines, audits."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import logs, loki, timeseries
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    QueryVariable,
    Row,
    TextBoxVariable,
)
from grafana_foundation_sdk.models.common import (
    LegendDisplayMode,
    LegendPlacement,
    LogsSortOrder,
    StackingMode,
)
from grafana_foundation_sdk.models.dashboard import (
    VariableRefresh,
    VariableSort,
)

from components.dashboards import (
    LOGS_DASHBOARD_UID,
    LOKI_UID,
    dashboard_file,
    datasource,
    read_only_dashboard,
)
from components.logging import logql
from config.settings import Settings

FOLDER = "Logs"
"""The Grafana folder, and directory under the dashboards directory, of this dashboard."""

TITLE = "Logs"
TAGS = ["observability", "logs"]
TIME_RANGE = ("now-1h", "now")
REFRESH = "30s"
# Grafana replaces $__interval with the width of one point of the graph.
WINDOW = "$__interval"
MAX_LINES = 500
SERVICE_VARIABLE = "service"
REQUEST_VARIABLE = "request_id"


def logs_dashboard(settings: Settings) -> Dashboard:
    """Errors per service, the latest error lines, a request's lines and the audit trail."""
    return (
        read_only_dashboard(
            LOGS_DASHBOARD_UID,
            TITLE,
            "Every container's logs from Loki: errors, one request, audit events.",
            tags=TAGS,
            time_range=TIME_RANGE,
            refresh=REFRESH,
        )
        .with_variable(
            QueryVariable(SERVICE_VARIABLE)
            .label("Service")
            .datasource(datasource(LOKI_UID))
            .query("label_values(service)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".+")
        )
        .with_variable(TextBoxVariable(REQUEST_VARIABLE).label("Request id").default_value(""))
        .with_row(Row("Errors"))
        .with_panel(
            _timeseries(
                "Error lines per service",
                error_rate_query(settings),
                legend="{{service}}",
            )
        )
        .with_panel(
            _timeseries(
                "Lines per level",
                level_rate_query(settings),
                legend="{{level}}",
                stacked=True,
            )
        )
        .with_panel(_logs("Recent error lines", error_lines_query(settings)))
        .with_row(Row("Request"))
        .with_panel(
            _logs(f"Lines of request ${REQUEST_VARIABLE}", request_lines_query(settings), width=24)
        )
        .with_row(Row("Audit"))
        .with_panel(_logs("Audit events", audit_query(settings), width=24))
    )


def dashboard_files(settings: Settings) -> dict[str, str]:
    """The logs dashboard as JSON, by path in the Grafana container."""
    return dict([dashboard_file(FOLDER, logs_dashboard(settings))])


def stream(settings: Settings, **matchers: str) -> str:
    """This environment's streams of the chosen services, with more exact matchers."""
    labels = {"environment": settings.environment, "service": f"${SERVICE_VARIABLE}", **matchers}
    return logql.selector(labels, operators={"service": "=~"})


def error_rate_query(settings: Settings) -> str:
    """Error lines per service and interval."""
    return f"sum by (service) (count_over_time({stream(settings, level='error')} [{WINDOW}]))"


def level_rate_query(settings: Settings) -> str:
    """Lines per level and interval; a line without a level counts as an empty level."""
    return f"sum by (level) (count_over_time({stream(settings)} [{WINDOW}]))"


def error_lines_query(settings: Settings) -> str:
    """The error lines themselves."""
    return stream(settings, level="error")


def request_lines_query(settings: Settings) -> str:
    """Every line carrying the request id typed in, across services; none while it is empty."""
    request = logql.string(f"${REQUEST_VARIABLE}")
    return f'{stream(settings)} | request_id != "" | request_id = {request}'


def audit_query(settings: Settings) -> str:
    """The audit events, which Alloy labels and Loki keeps longer."""
    return stream(settings, audit="true")


def _target(expr: str) -> loki.Dataquery:
    return loki.Dataquery().expr(expr).ref_id("A").datasource(datasource(LOKI_UID)).range(True)


def _timeseries(title: str, expr: str, *, legend: str, stacked: bool = False) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(datasource(LOKI_UID))
        .with_target(_target(expr).legend_format(legend))
        .unit("short")
        .span(12)
        .height(8)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["sum", "max"])
        )
    )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(StackingMode.NORMAL))
    return panel


def _logs(title: str, expr: str, *, width: int = 24) -> logs.Panel:
    return (
        logs.Panel()
        .title(title)
        .datasource(datasource(LOKI_UID))
        .with_target(_target(expr).max_lines(MAX_LINES))
        .span(width)
        .height(10)
        .show_time(True)
        .wrap_log_message(True)
        .enable_log_details(True)
        .sort_order(LogsSortOrder.DESCENDING)
    )
