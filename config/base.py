"""Building blocks shared by every settings section: strict models and field types."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
_SIZE = re.compile(r"^\d+(?:B|KB|MB|GB|TB|PB)$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class StrictModel(BaseModel):
    """A settings section: unknown keys are errors and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class MemoryLimits(StrictModel):
    """A section whose containers' memory limits in MiB its `memory_mb` setting may override.

    The subclass declares `memory_mb = memory_mb_field(defaults)` where it belongs among its
    settings (the settings reference lists fields in order); the defaults name its containers.
    """

    if TYPE_CHECKING:
        memory_mb: dict[str, int]

    @model_validator(mode="after")
    def _known_containers(self) -> Self:
        known = self.default_memory_mb()
        unknown = sorted(set(self.memory_mb) - set(known))
        if unknown:
            raise ValueError(
                f"memory_mb names unknown containers {unknown}; known: {sorted(known)}"
            )
        return self

    @classmethod
    def default_memory_mb(cls) -> dict[str, int]:
        """Every container of the section and its default memory limit in MiB."""
        defaults: dict[str, int] = cls.model_fields["memory_mb"].get_default(
            call_default_factory=True
        )
        return defaults

    def memory_limit(self, container: str) -> int:
        """The memory limit of one of the section's containers in MiB, the default unless set."""
        return self.memory_mb.get(container, self.default_memory_mb()[container])


def memory_mb_field(defaults: Mapping[str, int], description: str | None = None) -> Any:
    """The `memory_mb` field of a `MemoryLimits` section, defaulting to `defaults`."""
    return Field(default_factory=lambda: dict(defaults), description=description)


def seconds(duration: str) -> float:
    """The length of a Prometheus-style duration such as `1m30s`, in seconds."""
    return sum(
        int(amount) * _DURATION_UNIT_SECONDS[unit]
        for amount, unit in _DURATION_PART.findall(duration)
    )


def _text(pattern: re.Pattern[str], rule: str, extra: Callable[[str], bool] | None = None) -> Any:
    """A validator for a string field: anything else, or a mismatch, breaks `rule`."""

    def check(value: object) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(rule)
        if extra is not None and not extra(value):
            raise ValueError(rule)
        return value

    return BeforeValidator(check)


_WEB_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")
_URL_PATH = re.compile(r"^/\S*$")
_SLACK_CHANNEL = re.compile(r"^[#@][\w.-]+$")


def _check_percent(value: float) -> float:
    if not 1 <= value <= 100:
        raise ValueError("must be between 1 and 100")
    return value


def _check_ratio(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError("must be greater than 0 and less than 1")
    return value


Duration = Annotated[
    str,
    _text(
        _DURATION,
        "must be a positive duration such as 30s, 5m or 15d",
        lambda value: seconds(value) > 0,
    ),
]
"""A Prometheus-style duration: `30s`, `5m`, `1h30m`, `15d`."""

Size = Annotated[
    str,
    _text(_SIZE, "must be a positive size such as 512MB or 20GB", lambda v: v[0] != "0"),
]
"""A Prometheus-style byte size: `512MB`, `20GB`."""

Slug = Annotated[
    str,
    _text(_SLUG, "must start with a lower-case letter and hold only a-z, 0-9 and '-' (at most 40)"),
]
"""A short lower-case name usable in container, job and label names."""

Hostname = Annotated[
    str, _text(_HOSTNAME, "must be a fully qualified lower-case host name such as api.example.com")
]
"""A fully qualified DNS name."""

WebUrl = Annotated[
    str, _text(_WEB_URL, "must be an http or https URL such as https://api.example.com/health")
]
"""An absolute http(s) URL."""

HttpsUrl = Annotated[str, _text(_HTTPS_URL, "must be an https URL such as https://example.com/x")]
"""An absolute https URL."""

EmailAddress = Annotated[str, _text(_EMAIL, "must be an email address such as ops@example.com")]
"""An email address."""

HostPort = Annotated[str, _text(_HOST_PORT, "must be host:port such as backend:8000")]
"""A `host:port` address."""

UrlPath = Annotated[str, _text(_URL_PATH, "must be a path starting with / such as /metrics")]
"""The path part of a URL."""

SlackChannel = Annotated[
    str, _text(_SLACK_CHANNEL, "must be a Slack channel such as #alerts or a user such as @ops")
]
"""A Slack channel or user."""

Percent = Annotated[float, AfterValidator(_check_percent)]
"""A percentage between 1 and 100."""

Ratio = Annotated[float, AfterValidator(_check_ratio)]
"""A fraction strictly between 0 and 1."""
