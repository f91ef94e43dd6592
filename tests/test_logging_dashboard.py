"""The logs dashboard and the Loki datasource Grafana reads it from."""

from __future__ import annotations

import json
from typing import Any

import yaml

from components.dashboards import LOGS_DASHBOARD_UID, LOKI_UID
from components.logging.render_dashboard import dashboard_files, logs_dashboard
from preview import run_preview
from preview.harness import stack_settings
from tests.conftest import preview_of
from tests.test_logging_rules import parse_logql

DASHBOARD_PATH = "/etc/grafana/dashboards/Logs/logs.json"
DATASOURCES_PATH = "/etc/grafana/provisioning/datasources/datasources.yaml"
# What Grafana puts in for its variables before it sends a query to Loki.
INTERPOLATED = {"$service": "api|web", "$__interval": "1m", "$request_id": "r-42"}


def dashboard(stack: str) -> dict[str, Any]:
    """The logs dashboard Grafana receives on a stack."""
    document: dict[str, Any] = json.loads(
        preview_of(stack).file(f"{stack}-grafana", DASHBOARD_PATH)
    )
    return document


def panels(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Panels by title, rows left out."""
    return {panel["title"]: panel for panel in document["panels"] if panel["type"] != "row"}


def interpolate(expr: str) -> str:
    """A dashboard query as Grafana sends it."""
    for variable, value in INTERPOLATED.items():
        expr = expr.replace(variable, value)
    return expr


def test_grafana_receives_the_logs_dashboard_with_its_fixed_uid(any_stack: str) -> None:
    """The HTTP services dashboard links to uid `logs`; this is it."""
    document = dashboard(any_stack)

    assert document["uid"] == LOGS_DASHBOARD_UID == "logs"
    assert document["title"] == "Logs"


def test_every_panel_queries_the_provisioned_loki_datasource(any_stack: str) -> None:
    """Panels and targets name the datasource by the uid Grafana's provisioning gives Loki."""
    provisioned = yaml.safe_load(
        preview_of(any_stack).file(f"{any_stack}-grafana", DATASOURCES_PATH)
    )
    loki = [source for source in provisioned["datasources"] if source["uid"] == LOKI_UID]

    assert loki == [loki[0]] and loki[0]["type"] == "loki"
    assert loki[0]["url"] == "http://loki:3100"
    for panel in panels(dashboard(any_stack)).values():
        assert panel["datasource"] == {"type": "loki", "uid": LOKI_UID}
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "loki", "uid": LOKI_UID}


def test_the_dashboard_shows_error_rate_recent_errors_a_request_and_audits(
    deployed_stack: str,
) -> None:
    """Error rate per service, the error lines, one request's lines and the audit events."""
    by_title = panels(dashboard(deployed_stack))
    selector = f'{{environment="{deployed_stack}", service=~"$service"'

    assert by_title["Error lines per service"]["type"] == "timeseries"
    assert by_title["Error lines per service"]["targets"][0]["expr"] == (
        f'sum by (service) (count_over_time({selector}, level="error"}} [$__interval]))'
    )
    assert by_title["Recent error lines"]["type"] == "logs"
    assert by_title["Recent error lines"]["targets"][0]["expr"] == f'{selector}, level="error"}}'
    request = by_title["Lines of request $request_id"]
    assert request["type"] == "logs"
    assert request["targets"][0]["expr"] == (
        f'{selector}}} | request_id != "" | request_id = "$request_id"'
    )
    assert by_title["Audit events"]["targets"][0]["expr"] == f'{selector}, audit="true"}}'


def test_the_request_id_and_service_are_dashboard_variables(any_stack: str) -> None:
    """A text box takes the request id; the services come from Loki's `service` label."""
    variables = {item["name"]: item for item in dashboard(any_stack)["templating"]["list"]}

    assert variables["request_id"]["type"] == "textbox"
    assert variables["service"]["type"] == "query"
    assert variables["service"]["query"] == "label_values(service)"
    assert variables["service"]["datasource"] == {"type": "loki", "uid": LOKI_UID}
    assert variables["service"]["includeAll"] is True


def test_every_dashboard_query_is_valid_logql(any_stack: str) -> None:
    """Each target parses with Grafana's LogQL grammar once the variables are filled in."""
    expressions = [
        interpolate(target["expr"])
        for panel in panels(dashboard(any_stack)).values()
        for target in panel["targets"]
    ]
    kinds = {
        "timeseries": "MetricExpr",
        "logs": "LogExpr",
    }
    expected = [
        (kinds[panel["type"]], ())
        for panel in panels(dashboard(any_stack)).values()
        for _ in panel["targets"]
    ]

    assert parse_logql(expressions) == expected


def test_the_http_services_dashboard_links_to_the_logs_dashboard(deployed_stack: str) -> None:
    """From a service's traffic and errors, one click opens its logs over the same time."""
    files = preview_of(deployed_stack).files()
    (http_services,) = [
        json.loads(content)
        for (container, path), content in files.items()
        if container == f"{deployed_stack}-grafana" and path.endswith("/http-services.json")
    ]

    assert any(link.get("url") == f"/d/{LOGS_DASHBOARD_UID}" for link in http_services["links"])


def test_without_logging_there_is_no_loki_no_alloy_and_no_logs_dashboard() -> None:
    """Turning the component off removes its containers, its dashboard and the datasource."""
    preview = run_preview("staging", overrides={"components": {"logging": False}})
    containers = {
        resource.inputs["name"] for resource in preview.of_type("docker:index/container:Container")
    }
    datasources = yaml.safe_load(preview.file("staging-grafana", DATASOURCES_PATH))["datasources"]

    assert not {"staging-loki", "staging-alloy"} & containers
    assert ("staging-grafana", DASHBOARD_PATH) not in preview.files()
    assert LOKI_UID not in {source["uid"] for source in datasources}


def test_the_dashboard_json_is_the_same_bytes_on_every_render() -> None:
    """Encoding twice gives identical text, with numbered panels."""
    settings = stack_settings("prod")

    assert dashboard_files(settings) == dashboard_files(settings)
    ids = [panel["id"] for panel in json.loads(dashboard_files(settings)[DASHBOARD_PATH])["panels"]]
    assert ids == list(range(1, len(ids) + 1))
    assert logs_dashboard(settings).build().uid == "logs"
