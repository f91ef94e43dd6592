"""Uptime Kuma and AutoKuma: monitors declared from the settings and a public status page."""

from components.status_page.component import StatusPage

__all__ = ["StatusPage"]
