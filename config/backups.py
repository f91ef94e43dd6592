"""Settings of backups and secrets on AWS."""

from __future__ import annotations

from config.base import StrictModel


class BackupSettings(StrictModel):
    """Where backups go and how long they are kept."""
