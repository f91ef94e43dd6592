"""The panel shapes the metrics dashboards share, all reading from the Prometheus datasource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable, ThresholdsConfig
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    GraphTresholdsStyleMode,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    StackingMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import (
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)

from components.dashboards import PROMETHEUS_UID, datasource, read_only_dashboard

FOLDER = "Metrics"
"""The Grafana folder, and directory under the dashboards directory, of these dashboards."""

TAGS = ["observability", "metrics"]
TIME_RANGE = ("now-6h", "now")
REFRESH = "1m"
# Rates over Grafana's $__rate_interval stay correct whatever the zoom and scrape interval.
RATE_WINDOW = "$__rate_interval"

Targets = Sequence[prometheus.Dataquery]
Panel = TypeVar("Panel", timeseries.Panel, stat.Panel)


def new_dashboard(uid: str, title: str, description: str) -> Dashboard:
    """A read-only metrics dashboard with this folder's time range, refresh and tags."""
    return read_only_dashboard(
        uid, title, description, tags=TAGS, time_range=TIME_RANGE, refresh=REFRESH
    )


def query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    """A PromQL range query against the provisioned Prometheus."""
    return _prometheus_query(expr, legend, ref_id).range()


def instant_query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    """A PromQL instant query, for values that only matter now (expiry days, status codes)."""
    return _prometheus_query(expr, legend, ref_id).instant()


def _prometheus_query(expr: str, legend: str, ref_id: str) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(datasource(PROMETHEUS_UID))
    return target.legend_format(legend) if legend else target


def label_variable(
    name: str, *, title: str, label: str, series: str, include_all: bool = True
) -> QueryVariable:
    """A multi-value variable `name` offering the values of `label` on `series`, All by default."""
    variable = (
        QueryVariable(name)
        .label(title)
        .datasource(datasource(PROMETHEUS_UID))
        .query(f"label_values({series}, {label})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(True)
        .include_all(include_all)
    )
    return variable.all_value(".*") if include_all else variable


def thresholds(*steps: tuple[float, str], base: str = "green") -> ThresholdsConfig:
    """Absolute thresholds: `base` colour below the first step, then each step's colour."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color=base),
                *(Threshold(value=value, color=color) for value, color in steps),
            ]
        )
    )


def value_texts(texts: dict[str, tuple[str, str]]) -> list[ValueMapping]:
    """Show a value as text in a colour: {"1": ("Up", "green")}."""
    return [
        ValueMap(
            options={
                value: ValueMappingResult(text=text, color=color, index=index)
                for index, (value, (text, color)) in enumerate(texts.items())
            }
        )
    ]


def timeseries_panel(
    title: str,
    targets: Targets,
    *,
    unit: str,
    description: str = "",
    width: int = 12,
    height: int = 8,
    minimum: float | None = 0,
    maximum: float | None = None,
    limits: ThresholdsConfig | None = None,
    stacked: bool = False,
) -> timeseries.Panel:
    """A graph over time with its legend as a table of last, mean and max values."""
    panel = (
        _prometheus_panel(timeseries.Panel(), title, targets, unit, width, height, description)
        .fill_opacity(10)
        .line_width(1)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "mean", "max"])
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(TooltipDisplayMode.MULTI)
            .sort(SortOrder.DESCENDING)
        )
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    if limits is not None:
        panel = panel.thresholds(limits).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.LINE)
        )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(StackingMode.NORMAL))
    return panel


def stat_panel(
    title: str,
    targets: Targets,
    *,
    unit: str,
    description: str = "",
    width: int = 6,
    height: int = 4,
    limits: ThresholdsConfig | None = None,
    mappings: list[ValueMapping] | None = None,
    graph: bool = True,
) -> stat.Panel:
    """One big number per series, coloured by its thresholds, from the last value."""
    panel = (
        _prometheus_panel(stat.Panel(), title, targets, unit, width, height, description)
        .color_mode(BigValueColorMode.BACKGROUND if mappings else BigValueColorMode.VALUE)
        .graph_mode(BigValueGraphMode.AREA if graph else BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if limits is not None:
        panel = panel.thresholds(limits)
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def _prometheus_panel(
    panel: Panel, title: str, targets: Targets, unit: str, width: int, height: int, description: str
) -> Panel:
    panel = (
        panel.title(title)
        .datasource(datasource(PROMETHEUS_UID))
        .targets(list(targets))
        .unit(unit)
        .span(width)
        .height(height)
    )
    return panel.description(description) if description else panel
