"""Log alert rules for Loki's ruler: LogQL checked by Grafana's own grammar, the file by promtool.

LogQL is parsed with `@grafana/lezer-logql`, the grammar Grafana's query editor uses (npm, see
package.json; CI installs it with `npm ci`). The rule file has Prometheus's format, so promtool
checks its structure, durations and templates once each LogQL expression, which promtool cannot
read, stands in as a PromQL constant.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.logging import render_loki, render_rules
from components.logging.render_rules import log_alert_rule_groups
from preview.harness import stack_settings
from tests.conftest import preview_of, real_tool
from tests.test_alertmanager import checkable_config, receivers_reached
from tests.test_logging_settings import settings_with_logging

ROOT = Path(__file__).resolve().parent.parent
LEZER_PACKAGE = "@grafana/lezer-logql"
_PARSE = """
const {parser} = require(process.argv[1]);
const queries = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const results = queries.map((query) => {
  const tree = parser.parse(query);
  const errors = [];
  tree.iterate({enter: (node) => { if (node.type.isError) errors.push(node.from); }});
  const expr = tree.topNode.firstChild;
  const kind = expr && expr.firstChild ? expr.firstChild.name : null;
  return {kind, errors};
});
process.stdout.write(JSON.stringify(results));
"""


def _lezer_logql() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; CI installs it with the npm tools")
    package = ROOT / "node_modules" / LEZER_PACKAGE
    if not package.is_dir():
        pytest.fail(f"{LEZER_PACKAGE} is not installed; run `npm ci` (CI does)")
    return str(package)


@functools.cache
def _parse_cached(queries: tuple[str, ...]) -> tuple[tuple[str | None, tuple[int, ...]], ...]:
    result = subprocess.run(
        [shutil.which("node") or "node", "-e", _PARSE, _lezer_logql()],
        input=json.dumps(list(queries)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    return tuple((item["kind"], tuple(item["errors"])) for item in parsed)


def parse_logql(queries: list[str]) -> list[tuple[str | None, tuple[int, ...]]]:
    """Each query's kind (`MetricExpr` or `LogExpr`) and the offsets of its syntax errors."""
    _lezer_logql()
    return list(_parse_cached(tuple(queries)))


def rules_of(stack: str) -> list[dict[str, Any]]:
    """The rules Loki's ruler receives on a stack."""
    text = preview_of(stack).file(f"{stack}-loki", render_rules.RULES_PATH)
    return [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]


def test_the_grammar_rejects_broken_logql() -> None:
    """The parser is a real check: a missing brace and a bad pipe are syntax errors."""
    parsed = parse_logql(
        [
            'sum by (service) (count_over_time({environment="prod" [5m]))',
            '{environment="prod"} | | json',
            '{environment="prod"} |= "x"',
        ]
    )

    assert parsed[0][1] and parsed[1][1]
    assert parsed[2] == ("LogExpr", ())


def test_every_alert_expression_is_a_valid_logql_metric_query(any_stack: str) -> None:
    """The ruler only alerts on metric queries; each parses without a syntax error."""
    expressions = [rule["expr"] for rule in rules_of(any_stack)]

    assert parse_logql(expressions) == [("MetricExpr", ())] * len(expressions)


def test_promtool_accepts_the_rule_files_structure(deployed_stack: str, tmp_path: Path) -> None:
    """Group, rule, duration, label and template syntax pass `promtool check rules`."""
    document = yaml.safe_load(
        preview_of(deployed_stack).file(f"{deployed_stack}-loki", render_rules.RULES_PATH)
    )
    standin = copy.deepcopy(document)
    for group in standin["groups"]:
        for rule in group["rules"]:
            rule["expr"] = "vector(1)"
    path = tmp_path / "logs.yaml"
    path.write_text(yaml.safe_dump(standin))

    result = subprocess.run(
        [real_tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout


def test_error_lines_and_traceback_bursts_alert_per_service(deployed_stack: str) -> None:
    """One rule counts error lines per service, the other Python tracebacks per service."""
    settings = stack_settings(deployed_stack)
    rules = {rule["alert"]: rule for rule in rules_of(deployed_stack)}
    errors = rules["LogErrorsHigh"]
    tracebacks = rules["PythonTracebackBurst"]

    assert errors["expr"] == (
        f'sum by (service) (count_over_time({{environment="{deployed_stack}", level="error"}} '
        f"[5m])) > 20"
    )
    assert errors["for"] == "2m"
    assert tracebacks["expr"] == (
        f'sum by (service) (count_over_time({{environment="{deployed_stack}"}} '
        f'|= "Traceback (most recent call last)" [10m])) >= 5'
    )
    assert settings.logging.error_lines == 20


def test_thresholds_and_windows_come_from_the_settings() -> None:
    """error_lines, error_window, error_for and the traceback burst reach the expressions."""
    settings = settings_with_logging(
        "prod",
        error_lines=50,
        error_window="15m",
        error_for="5m",
        traceback_burst=3,
        traceback_window="30m",
    )
    rules = {
        rule["alert"]: rule for group in log_alert_rule_groups(settings) for rule in group["rules"]
    }

    assert rules["LogErrorsHigh"]["expr"].endswith("[15m])) > 50")
    assert rules["LogErrorsHigh"]["for"] == "5m"
    assert rules["PythonTracebackBurst"]["expr"].endswith("[30m])) >= 3")


def test_log_alerts_carry_severity_and_instance_like_metric_alerts(any_stack: str) -> None:
    """`severity` is critical or warning and `instance` names the service."""
    for rule in rules_of(any_stack):
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["labels"]["instance"] == "{{ $labels.service }}"
        assert {"summary", "description", "dashboard"} <= set(rule["annotations"])


def test_log_alerts_route_to_the_same_receivers_as_metric_alerts(
    deployed_stack: str, tmp_path: Path
) -> None:
    """Alertmanager sends a log alert where it sends a metric alert of the same severity."""
    preview = preview_of(deployed_stack)
    config = checkable_config(preview, tmp_path)
    for rule in rules_of(deployed_stack):
        severity = rule["labels"]["severity"]
        log_alert = {"alertname": rule["alert"], "severity": severity, "instance": "api"}
        metric_alert = {"alertname": "HostCpuBusy", "severity": severity, "instance": "api"}

        assert receivers_reached(config, log_alert) == receivers_reached(config, metric_alert)


def test_the_ruler_sends_to_the_alertmanager_the_metric_alerts_use(any_stack: str) -> None:
    """Loki's ruler and Prometheus both send to the stack's Alertmanager at alertmanager:9093."""
    text = preview_of(any_stack).file(f"{any_stack}-loki", render_loki.CONFIG_PATH)

    assert yaml.safe_load(text)["ruler"]["alertmanager_url"] == "http://alertmanager:9093"


def test_the_alert_links_to_the_logs_dashboard_of_the_service(deployed_stack: str) -> None:
    """Each alert's `dashboard` annotation opens the logs dashboard filtered to the service."""
    settings = stack_settings(deployed_stack)
    for rule in rules_of(deployed_stack):
        assert rule["annotations"]["dashboard"] == (
            f"https://{settings.hostnames.grafana}/d/logs?var-service={{{{ $labels.service }}}}"
        )


def test_alloys_match_selectors_are_valid_logql(any_stack: str) -> None:
    """Each stage.match selector in Alloy's pipeline parses as a LogQL log query."""
    from tests.test_logging_alloy import _attributes, _blocks, _read_config

    selectors = [
        _attributes(stage)["selector"]
        for node in _read_config(any_stack)
        if node.name == "loki.process"
        for stage in _blocks(node)
        if stage.name == "stage.match"
    ]

    assert len(selectors) == 4
    assert parse_logql(selectors) == [("LogExpr", ())] * len(selectors)


def test_an_awkward_audit_value_still_gives_a_valid_selector() -> None:
    """Quotes and backslashes in the audit value are escaped inside the LogQL string."""
    from components.logging.render_alloy import pipeline_stages

    settings = settings_with_logging("prod", audit_value='say "yes" \\ now')
    (audit,) = [
        stage
        for stage in pipeline_stages(settings)
        if stage.name == "stage.match" and "audit_marker" in str(stage.attribute("selector"))
    ]

    assert parse_logql([str(audit.attribute("selector"))]) == [("LogExpr", ())]


def test_prometheus_never_loads_the_logql_rules(any_stack: str) -> None:
    """LogQL means nothing to Prometheus: the log rules reach the Loki container only."""
    holders = {
        container
        for (container, _), content in preview_of(any_stack).files().items()
        if "PythonTracebackBurst" in content
    }

    assert holders == {f"{any_stack}-loki"}
