"""Alert rules on logs, in LogQL, for Loki's ruler.

The file has Prometheus's rule format; the ruler sends what fires to the same Alertmanager as
Prometheus, with the same `severity` and `instance` labels, so both route alike.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.dashboards import LOGS_DASHBOARD_UID
from components.logging import logql
from components.logging.render_alloy import TRACEBACK
from components.logging.render_loki import RULES_DIR, TENANT
from config.settings import Settings

RULES_PATH = f"{RULES_DIR}/{TENANT}/logs.yaml"
GROUP = "logs"
EVALUATION_INTERVAL = "1m"

CRITICAL = "critical"
WARNING = "warning"
INSTANCE = "{{ $labels.service }}"


def render_log_alert_rules(settings: Settings) -> str:
    """The text of the ruler's rule file."""
    return yaml.safe_dump(
        {"groups": log_alert_rule_groups(settings)},
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )


def log_alert_rule_groups(settings: Settings) -> list[dict[str, Any]]:
    """The rule groups as a Python structure."""
    return [
        {
            "name": GROUP,
            "interval": EVALUATION_INTERVAL,
            "rules": [error_lines_rule(settings), traceback_burst_rule(settings)],
        }
    ]


def error_lines_rule(settings: Settings) -> dict[str, Any]:
    """Too many error lines from one service."""
    logging = settings.logging
    stream = logql.selector({"environment": settings.environment, "level": "error"})
    return {
        "alert": "LogErrorsHigh",
        "expr": (
            f"sum by (service) (count_over_time({stream} [{logging.error_window}])) "
            f"> {logging.error_lines}"
        ),
        "for": logging.error_for,
        "labels": {"severity": WARNING, "instance": INSTANCE},
        "annotations": {
            "summary": (
                f"{INSTANCE} logged more than {logging.error_lines} errors "
                f"in {logging.error_window}"
            ),
            "description": (
                f"{INSTANCE} logged {{{{ $value }}}} error lines within {logging.error_window}; "
                f"its recent errors are on the logs dashboard."
            ),
            "dashboard": logs_dashboard_url(settings),
        },
    }


def traceback_burst_rule(settings: Settings) -> dict[str, Any]:
    """A burst of Python tracebacks from one service: code that fails, not a noisy client."""
    logging = settings.logging
    stream = logql.selector({"environment": settings.environment})
    # The quoted string also finds tracebacks inside structlog's JSON `exception` field.
    match = logql.string(TRACEBACK.rstrip(":"))
    return {
        "alert": "PythonTracebackBurst",
        "expr": (
            f"sum by (service) (count_over_time({stream} |= {match} "
            f"[{logging.traceback_window}])) >= {logging.traceback_burst}"
        ),
        "labels": {"severity": CRITICAL, "instance": INSTANCE},
        "annotations": {
            "summary": f"{INSTANCE} raised {logging.traceback_burst} or more tracebacks",
            "description": (
                f"{INSTANCE} logged {{{{ $value }}}} Python tracebacks within "
                f"{logging.traceback_window}."
            ),
            "dashboard": logs_dashboard_url(settings),
        },
    }


def logs_dashboard_url(settings: Settings) -> str:
    """The logs dashboard filtered to the alerting service."""
    return f"https://{settings.hostnames.grafana}/d/{LOGS_DASHBOARD_UID}?var-service={INSTANCE}"
