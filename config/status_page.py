"""Settings of the status page (Uptime Kuma)."""

from __future__ import annotations

from config.base import StrictModel


class StatusPageSettings(StrictModel):
    """Monitors and the public status page."""
