"""Typed stack settings: read once, validated, then handed to the components."""

from config.settings import ConfigError, Settings, load_settings, settings_from_config

__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_config"]
