"""Settings of the edge: Cloudflare zone, WAF, rate limits and the origin proxy."""

from __future__ import annotations

from config.base import StrictModel


class EdgeSettings(StrictModel):
    """What Cloudflare enforces in front of the public host names."""
