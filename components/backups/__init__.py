"""Backups on AWS: the encrypted bucket, its writer, the backup runner and its alert rules."""

from components.backups.component import Backups
from components.backups.render_alerts import RULES_PATH, render_backup_rules
from components.containers import ContainerFile
from config.settings import Settings


def backup_rule_files(settings: Settings) -> list[ContainerFile]:
    """The Prometheus rule file that alerts on failed and stale backups."""
    return [ContainerFile(RULES_PATH, render_backup_rules(settings))]


__all__ = ["Backups", "backup_rule_files"]
