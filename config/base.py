"""Building blocks shared by every settings section: strict models and field types."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


def _check_duration(value: str) -> str:
    if not _DURATION.match(value) or seconds(value) <= 0:
        raise ValueError("must be a positive duration such as 30s, 5m or 15d")
    return value


def _check_size(value: str) -> str:
    if not _SIZE.match(value) or value.startswith("0"):
        raise ValueError("must be a positive size such as 512MB or 20GB")
    return value


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            "must start with a lower-case letter and hold only a-z, 0-9 and '-' (at most 40)"
        )
    return value


def _check_hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError("must be a fully qualified lower-case host name such as api.example.com")
    return value


def _check_percent(value: float) -> float:
    if not 1 <= value <= 100:
        raise ValueError("must be between 1 and 100")
    return value


def _check_ratio(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError("must be greater than 0 and less than 1")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A Prometheus-style duration: `30s`, `5m`, `1h30m`, `15d`."""

Size = Annotated[str, AfterValidator(_check_size)]
"""A Prometheus-style byte size: `512MB`, `20GB`."""

Slug = Annotated[str, AfterValidator(_check_slug)]
"""A short lower-case name usable in container, job and label names."""

Hostname = Annotated[str, AfterValidator(_check_hostname)]
"""A fully qualified DNS name."""

Percent = Annotated[float, AfterValidator(_check_percent)]
"""A percentage between 1 and 100."""

Ratio = Annotated[float, AfterValidator(_check_ratio)]
"""A fraction strictly between 0 and 1."""
