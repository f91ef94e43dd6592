"""Building blocks shared by every settings section: strict models and field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

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
