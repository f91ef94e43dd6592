"""Small, careful pieces of LogQL: quoted strings, stream selectors and line filters."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPERATORS = ("=", "!=", "=~", "!~")


def string(text: str) -> str:
    """A LogQL string literal: Go's double-quoted form, whose escapes JSON's are a subset of."""
    return json.dumps(text, ensure_ascii=False)


def raw(text: str) -> str:
    """A regular expression as a LogQL literal, in backticks so backslashes stay single."""
    if "`" in text:
        return string(text)
    return f"`{text}`"


def selector(matchers: Mapping[str, str], *, operators: Mapping[str, str] | None = None) -> str:
    """A stream selector such as `{environment="prod", level="error"}`, labels in given order."""
    operators = operators or {}
    parts = []
    for name, value in matchers.items():
        operator = operators.get(name, "=")
        if not LABEL_NAME.match(name) or operator not in _OPERATORS:
            raise ValueError(f"not a LogQL matcher: {name}{operator}{value!r}")
        parts.append(f"{name}{operator}{string(value)}")
    return "{" + ", ".join(parts) + "}"
