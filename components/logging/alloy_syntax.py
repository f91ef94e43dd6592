"""A typed representation of Grafana Alloy's configuration syntax and its serializer.

The configuration is built from blocks, attributes and references, never from pasted text:
names are checked when a node is made and every string is escaped when it is written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BLOCK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
INDENT = "  "
# A list or object this long or longer is written one element per line.
INLINE_LIMIT = 72


@dataclass(frozen=True)
class Reference:
    """An expression naming the export of another component, such as `loki.write.x.receiver`."""

    component: str
    label: str
    export: str

    def __post_init__(self) -> None:
        _check(BLOCK_NAME, self.component, "component name")
        _check(IDENTIFIER, self.label, "component label")
        _check(IDENTIFIER, self.export, "export name")

    def __str__(self) -> str:
        return f"{self.component}.{self.label}.{self.export}"


Value: TypeAlias = (
    str | bool | int | float | Reference | Sequence["Value"] | Mapping[str, "Value"] | None
)
"""What an attribute can hold: a literal, a reference, a list or an object of values."""


@dataclass(frozen=True)
class Attribute:
    """`name = value` inside a block or at the top level."""

    name: str
    value: Value

    def __post_init__(self) -> None:
        _check(IDENTIFIER, self.name, "attribute name")


@dataclass(frozen=True)
class Block:
    """`name "label" { ... }`: a component, a stage or a settings block."""

    name: str
    label: str | None = None
    body: tuple[Attribute | Block, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check(BLOCK_NAME, self.name, "block name")
        if self.label is not None:
            _check(IDENTIFIER, self.label, "block label")

    def reference(self, export: str) -> Reference:
        """A reference to one export of this labelled component."""
        if self.label is None:
            raise ValueError(f"block {self.name} has no label, so nothing can refer to it")
        return Reference(self.name, self.label, export)

    def attribute(self, name: str) -> Value:
        """The value of one attribute of this block."""
        for node in self.body:
            if isinstance(node, Attribute) and node.name == name:
                return node.value
        raise KeyError(f"{self.name} has no attribute {name}")

    def blocks(self, name: str) -> list[Block]:
        """The nested blocks with this name, in order."""
        return [node for node in self.body if isinstance(node, Block) and node.name == name]


def block(
    name: str, label: str | None = None, /, *body: Attribute | Block, **attributes: Value
) -> Block:
    """A block whose keyword arguments become attributes, written before nested blocks."""
    nodes = [Attribute(key, value) for key, value in attributes.items()]
    return Block(name, label, (*nodes, *body))


def render(nodes: Sequence[Attribute | Block]) -> str:
    """The configuration file text of these top-level nodes."""
    return "\n".join(_node(node, 0) for node in nodes)


def references(nodes: Sequence[Attribute | Block]) -> Iterator[Reference]:
    """Every reference in these nodes, depth first."""
    for node in nodes:
        if isinstance(node, Block):
            yield from references(node.body)
        else:
            yield from _value_references(node.value)


def string(text: str) -> str:
    """A double-quoted Alloy string: JSON's escapes are a subset of Alloy's."""
    return json.dumps(text, ensure_ascii=False)


def _node(node: Attribute | Block, depth: int, width: int = 0) -> str:
    pad = INDENT * depth
    if isinstance(node, Attribute):
        name = node.name.ljust(width)
        return f"{pad}{name} = {_value(node.value, depth)}\n"

    head = node.name if node.label is None else f"{node.name} {string(node.label)}"
    if not node.body:
        return f"{pad}{head} {{ }}\n"

    lines = [f"{pad}{head} {{\n"]
    previous: Attribute | Block | None = None
    for index, child in enumerate(node.body):
        if isinstance(child, Block) and previous is not None:
            lines.append("\n")
        width = _attribute_width(node.body, index) if isinstance(child, Attribute) else 0
        lines.append(_node(child, depth + 1, width))
        previous = child
    lines.append(f"{pad}}}\n")
    return "".join(lines)


def _attribute_width(body: Sequence[Attribute | Block], index: int) -> int:
    # Aligns the `=` of consecutive attributes, as `alloy fmt` does.
    start = index
    while start > 0 and isinstance(body[start - 1], Attribute):
        start -= 1
    end = index
    while end + 1 < len(body) and isinstance(body[end + 1], Attribute):
        end += 1
    run = [node for node in body[start : end + 1] if isinstance(node, Attribute)]
    return max(len(node.name) for node in run)


def _value(value: Value, depth: int) -> str:
    if isinstance(value, Reference):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Alloy has no literal for {value}")
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, Mapping):
        return _object(value, depth)
    if isinstance(value, Sequence):
        return _array(value, depth)
    raise TypeError(f"no Alloy value for {type(value).__name__}")


def _array(items: Sequence[Value], depth: int) -> str:
    if not items:
        return "[]"
    parts = [_value(item, depth + 1) for item in items]
    inline = f"[{', '.join(parts)}]"
    if len(inline) < INLINE_LIMIT and "\n" not in inline:
        return inline
    pad = INDENT * (depth + 1)
    body = "".join(f"{pad}{part},\n" for part in parts)
    return f"[\n{body}{INDENT * depth}]"


def _object(entries: Mapping[str, Value], depth: int) -> str:
    if not entries:
        return "{}"
    keys = [key if IDENTIFIER.match(key) else string(key) for key in entries]
    width = max(len(key) for key in keys)
    pad = INDENT * (depth + 1)
    body = "".join(
        f"{pad}{key.ljust(width)} = {_value(item, depth + 1)},\n"
        for key, item in zip(keys, entries.values(), strict=True)
    )
    return f"{{\n{body}{INDENT * depth}}}"


def _value_references(value: Value) -> Iterator[Reference]:
    if isinstance(value, Reference):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _value_references(item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            yield from _value_references(item)


def _check(pattern: re.Pattern[str], name: str, what: str) -> None:
    if not pattern.match(name):
        raise ValueError(f"{what} {name!r} is not a valid Alloy identifier")
