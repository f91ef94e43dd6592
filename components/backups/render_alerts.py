"""Prometheus alert rules for backups: a run that failed, and a backup older than its schedule."""

from __future__ import annotations

from typing import Any

import yaml

from components.backups.render_schedules import Schedule, schedules
from config.base import seconds
from config.settings import Settings

RULES_PATH = "/etc/prometheus/rules/backups.yml"
GROUP = "backups"


def _duration(total_seconds: int) -> str:
    hours, rest = divmod(total_seconds, 3600)
    minutes = rest // 60
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def _stale_after(settings: Settings, schedule: Schedule) -> int:
    return schedule.period_seconds + int(seconds(settings.backups.stale_after))


def backup_failed_rule() -> dict[str, Any]:
    """A run failed; the next scheduled run may fix it, so it warns."""
    return {
        "alert": "BackupFailed",
        "expr": "backup_last_run_failed == 1",
        "labels": {"severity": "warning", "instance": "{{ $labels.schedule }}"},
        "annotations": {
            "summary": "Backup {{ $labels.schedule }} failed",
            "description": (
                "The last run of {{ $labels.schedule }} failed; read the backup runner's log."
            ),
        },
    }


def backup_stale_rule(settings: Settings, schedule: Schedule) -> dict[str, Any]:
    """No successful run for a whole period plus the grace: the newest backup is too old."""
    limit = _stale_after(settings, schedule)
    selector = f'backup_last_success_timestamp_seconds{{schedule="{schedule.name}"}}'
    return {
        "alert": "BackupStale",
        "expr": f"time() - max({selector}) > {limit}",
        "labels": {"severity": "critical", "instance": schedule.name},
        "annotations": {
            "summary": f"Backup {schedule.name} is older than its schedule",
            "description": (
                f"The newest {schedule.name} backup is {{{{ $value | humanizeDuration }}}} old; "
                f"it runs every {_duration(schedule.period_seconds)}."
            ),
        },
    }


def backup_missing_rule(settings: Settings, schedule: Schedule) -> dict[str, Any]:
    """Nothing has reported for a whole period plus the grace: the runner never ran."""
    limit = _stale_after(settings, schedule)
    selector = f'backup_last_success_timestamp_seconds{{schedule="{schedule.name}"}}'
    return {
        "alert": "BackupMissing",
        "expr": f"absent({selector})",
        "for": _duration(limit),
        "labels": {"severity": "critical", "instance": schedule.name},
        "annotations": {
            "summary": f"Backup {schedule.name} has not succeeded since the Pushgateway started",
            "description": (
                f"No successful {schedule.name} run reported for {_duration(limit)}; "
                "check the backup runner and the Pushgateway."
            ),
        },
    }


def render_backup_rules(settings: Settings) -> str:
    """The text of the backup rule file."""
    rules = [backup_failed_rule()]
    for schedule in schedules(settings):
        rules.append(backup_stale_rule(settings, schedule))
        rules.append(backup_missing_rule(settings, schedule))
    document = {"groups": [{"name": GROUP, "rules": rules}]}
    return yaml.safe_dump(document, sort_keys=False, width=100)
