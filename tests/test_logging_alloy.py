"""Grafana Alloy's configuration: syntax, escaping, components and the references between them.

No Alloy binary and no Alloy syntax parser exist in the registries reachable here, so these
tests read the generated text back with a small reader written from Alloy's documented grammar
(configuration-syntax: syntax, types and values) and check every block against the component
reference pages of Alloy 1.21.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from components.logging import alloy_syntax
from components.logging.alloy_syntax import Attribute, Block, Reference, block, render
from components.logging.render_alloy import (
    AUDIT_MARKER,
    DOCKER_HOST,
    FIRST_LINE,
    LOKI_PUSH_URL,
    PLAIN_LEVEL,
    TIMESTAMP_FALLBACKS,
    alloy_blocks,
    host_label,
    pipeline_stages,
    render_alloy_config,
)
from preview.harness import stack_settings
from tests.conftest import preview_of
from tests.test_logging_settings import settings_with_logging

# --- a reader for Alloy's syntax, from its documentation ---------------------------------

_ESCAPES = {
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "'": "'",
    '"': '"',
}
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[=.{}\[\](),])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class ReadBlock:
    """A block as read back from the text."""

    name: str
    label: str | None
    body: tuple[Any, ...]


@dataclass(frozen=True)
class ReadAttribute:
    """An attribute as read back from the text."""

    name: str
    value: Any


@dataclass(frozen=True)
class ReadReference:
    """A dotted name used as a value."""

    path: str


def unquote(literal: str) -> str:
    """Decode a double-quoted Alloy string with the escapes Alloy's documentation lists."""
    body = literal[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = body[index + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            index += 2
        elif code == "x":
            out.append(chr(int(body[index + 2 : index + 4], 16)))
            index += 4
        elif code == "u":
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        elif code == "U":
            out.append(chr(int(body[index + 2 : index + 10], 16)))
            index += 10
        elif code in "01234567":
            out.append(chr(int(body[index + 1 : index + 4], 8)))
            index += 4
        else:
            raise ValueError(f"unknown escape \\{code} in {literal}")
    return "".join(out)


class AlloyReader:
    """Recursive descent over Alloy's grammar: statements end at a newline or a closing brace."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise ValueError(f"unexpected character {text[position]!r} at {position}")
            kind = match.lastgroup or ""
            if kind not in ("space", "comment"):
                self.tokens.append((kind, match.group()))
            position = match.end()
        self.tokens.append(("end", ""))
        self.index = 0

    def read(self) -> list[Any]:
        body = self._body(top=True)
        self._expect("end")
        return body

    def _peek(self, offset: int = 0) -> tuple[str, str]:
        return self.tokens[self.index + offset]

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _expect(self, kind: str, text: str | None = None) -> str:
        token_kind, token_text = self._take()
        if token_kind != kind or (text is not None and token_text != text):
            raise ValueError(f"expected {text or kind}, got {token_text!r} ({token_kind})")
        return token_text

    def _skip_newlines(self) -> None:
        while self._peek()[0] == "newline":
            self._take()

    def _body(self, *, top: bool) -> list[Any]:
        statements: list[Any] = []
        while True:
            self._skip_newlines()
            kind, text = self._peek()
            if kind == "end" or (kind == "punct" and text == "}"):
                return statements
            statements.append(self._statement())
            kind, text = self._peek()
            if kind == "newline":
                continue
            if not (kind == "punct" and text == "}") and not (top and kind == "end"):
                raise ValueError(f"a statement must end at a newline, got {text!r}")

    def _statement(self) -> Any:
        name = self._expect("ident")
        if self._peek() == ("punct", "="):
            self._take()
            return ReadAttribute(name, self._expression())
        while self._peek() == ("punct", "."):
            self._take()
            name += "." + self._expect("ident")
        label = None
        if self._peek()[0] == "string":
            label = unquote(self._take()[1])
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
                raise ValueError(f"block label {label!r} is not an identifier")
        self._expect("punct", "{")
        body = self._body(top=False)
        self._expect("punct", "}")
        return ReadBlock(name, label, tuple(body))

    def _expression(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return unquote(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "punct" and text == "[":
            return self._sequence("]", self._expression)
        if kind == "punct" and text == "{":
            return dict(self._sequence("}", self._entry))
        if kind == "ident":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            path = text
            while self._peek() == ("punct", "."):
                self._take()
                path += "." + self._expect("ident")
            return ReadReference(path)
        raise ValueError(f"unexpected {text!r} in an expression")

    def _entry(self) -> tuple[str, Any]:
        kind, text = self._take()
        key = unquote(text) if kind == "string" else text
        if kind not in ("string", "ident"):
            raise ValueError(f"an object key must be a name or a string, got {text!r}")
        self._expect("punct", "=")
        return key, self._expression()

    def _sequence(self, close: str, item: Any) -> list[Any]:
        # A newline after an element ends a statement in Alloy, so an element must be followed
        # by a comma or, on the same line, the closer: `[a, b]` or one `a,` per line.
        items: list[Any] = []
        self._skip_newlines()
        while self._peek() != ("punct", close):
            items.append(item())
            if self._peek() == ("punct", ","):
                self._take()
                self._skip_newlines()
            elif self._peek() != ("punct", close):
                raise ValueError(f"expected , or {close} after an element, got {self._peek()}")
        self._take()
        return items


def read_alloy(text: str) -> list[Any]:
    """The statements of an Alloy file."""
    return AlloyReader(text).read()


def as_read(node: Attribute | Block) -> Any:
    """Our typed node in the reader's shape, to compare the two."""
    if isinstance(node, Attribute):
        return ReadAttribute(node.name, _as_read_value(node.value))
    return ReadBlock(node.name, node.label, tuple(as_read(child) for child in node.body))


def _as_read_value(value: Any) -> Any:
    if isinstance(value, Reference):
        return ReadReference(str(value))
    if isinstance(value, dict):
        return {key: _as_read_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_read_value(item) for item in value]
    return value


# --- Alloy 1.21's documented components, as far as this configuration uses them -------------

HTTP_CLIENT_BLOCKS = {"authorization", "basic_auth", "oauth2", "tls_config"}
RULE_ARGUMENTS = {
    "action",
    "modulus",
    "regex",
    "replacement",
    "separator",
    "source_labels",
    "target_label",
}
STAGES: dict[str, set[str]] = {
    "stage.decolorize": set(),
    "stage.json": {"expressions", "drop_malformed", "source"},
    "stage.label_drop": {"values"},
    "stage.labels": {"values"},
    "stage.match": {"selector", "action", "drop_counter_reason", "pipeline_name"},
    "stage.multiline": {"firstline", "max_lines", "max_wait_time"},
    "stage.regex": {"expression", "source"},
    "stage.static_labels": {"values"},
    "stage.structured_metadata": {"values", "regex"},
    "stage.template": {"source", "template"},
    "stage.timestamp": {
        "format",
        "source",
        "action_on_failure",
        "fallback_formats",
        "location",
    },
}
REQUIRED_STAGE_ARGUMENTS = {
    "stage.json": {"expressions"},
    "stage.match": {"selector"},
    "stage.multiline": {"firstline"},
    "stage.regex": {"expression"},
    "stage.template": {"source", "template"},
    "stage.timestamp": {"format", "source"},
}


@dataclass(frozen=True)
class Component:
    """What Alloy's reference page documents for one component."""

    arguments: frozenset[str]
    required: frozenset[str]
    blocks: frozenset[str]
    exports: dict[str, str]


COMPONENTS: dict[str, Component] = {
    "discovery.docker": Component(
        arguments=frozenset(
            {
                "host",
                "bearer_token_file",
                "bearer_token",
                "enable_http2",
                "follow_redirects",
                "http_headers",
                "host_networking_host",
                "match_first_network",
                "no_proxy",
                "port",
                "proxy_connect_header",
                "proxy_from_environment",
                "proxy_url",
                "refresh_interval",
            }
        ),
        required=frozenset({"host"}),
        blocks=frozenset({*HTTP_CLIENT_BLOCKS, "filter"}),
        exports={"targets": "targets"},
    ),
    "discovery.relabel": Component(
        arguments=frozenset({"targets"}),
        required=frozenset({"targets"}),
        blocks=frozenset({"rule"}),
        exports={"output": "targets", "rules": "relabel_rules"},
    ),
    "loki.source.docker": Component(
        arguments=frozenset(
            {"forward_to", "host", "labels", "targets", "refresh_interval", "relabel_rules"}
        ),
        required=frozenset({"forward_to", "host", "targets"}),
        blocks=frozenset({"client"}),
        exports={},
    ),
    "loki.process": Component(
        arguments=frozenset({"forward_to"}),
        required=frozenset({"forward_to"}),
        blocks=frozenset(STAGES),
        exports={"receiver": "logs_receiver"},
    ),
    "loki.write": Component(
        arguments=frozenset({"external_labels", "max_streams"}),
        required=frozenset(),
        blocks=frozenset({"endpoint", "wal"}),
        exports={"receiver": "logs_receiver"},
    ),
}
# Blocks that configure Alloy itself rather than declare a component.
CONFIG_BLOCKS = {"logging": {"destination", "level", "format", "write_to"}}
# What each argument that takes a reference expects, by the type its page documents.
REFERENCE_ARGUMENTS = {
    ("loki.source.docker", "forward_to"): "logs_receiver",
    ("loki.source.docker", "targets"): "targets",
    ("loki.source.docker", "relabel_rules"): "relabel_rules",
    ("loki.process", "forward_to"): "logs_receiver",
    ("discovery.relabel", "targets"): "targets",
}


def _attributes(node: ReadBlock) -> dict[str, Any]:
    return {child.name: child.value for child in node.body if isinstance(child, ReadAttribute)}


def _blocks(node: ReadBlock) -> list[ReadBlock]:
    return [child for child in node.body if isinstance(child, ReadBlock)]


def _references(value: Any) -> list[ReadReference]:
    if isinstance(value, ReadReference):
        return [value]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def _read_config(stack: str) -> list[Any]:
    return read_alloy(preview_of(stack).file(f"{stack}-alloy", "/etc/alloy/config.alloy"))


# --- the serializer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        "back\\slash and \\d+",
        "new\nline\ttab\rreturn",
        "bell\a and nul\x00 and del\x7f",
        "unicode \u2a2f \u26a0 \u00e9 \U0001f600",
        "`backtick` and ${interpolation} and // comment and /* block */",
        "",
    ],
)
def test_strings_read_back_exactly_as_written(text: str) -> None:
    """Any string survives the serializer and Alloy's documented escapes unchanged."""
    written = render([block("loki.write", "x", block("endpoint", url=text))])

    assert read_alloy(written) == [
        ReadBlock("loki.write", "x", (ReadBlock("endpoint", None, (ReadAttribute("url", text),)),))
    ]


def test_every_value_type_reads_back_as_the_typed_node() -> None:
    """Lists, objects with quoted keys, numbers, booleans, null and references round-trip."""
    target = Reference("loki.write", "x", "receiver")
    node = block(
        "loki.process",
        "x",
        block("stage.static_labels", values={"a": "1", "needs quotes": "2"}),
        forward_to=[target, target],
        numbers=[1, 2.5, -3],
        flags={"yes": True, "no": False, "nothing": None},
        empty_list=[],
        empty_object={},
        long_list=[f"item-number-{index}" for index in range(8)],
    )

    assert read_alloy(render([node])) == [as_read(node)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Block("loki.write", "bad label"), "block label"),
        (lambda: Block("loki..write"), "block name"),
        (lambda: Attribute("forward-to", 1), "attribute name"),
        (lambda: Reference("loki.write", "x", "not valid"), "export name"),
    ],
)
def test_names_that_are_not_identifiers_are_refused(make: Any, message: str) -> None:
    """A name that Alloy would not parse cannot even be built."""
    with pytest.raises(ValueError, match=message):
        make()


def test_a_block_without_a_label_cannot_be_referred_to() -> None:
    """References name a component by its label."""
    with pytest.raises(ValueError, match="no label"):
        Block("logging").reference("receiver")


def test_infinite_numbers_have_no_literal() -> None:
    """Alloy has no literal for infinity, so the serializer refuses it."""
    with pytest.raises(ValueError, match="no literal"):
        render([Attribute("limit", float("inf"))])


def test_the_config_is_rendered_from_the_typed_blocks(deployed_stack: str) -> None:
    """The file Alloy receives is exactly the serialization of the typed configuration."""
    settings = stack_settings(deployed_stack)
    text = preview_of(deployed_stack).file(f"{deployed_stack}-alloy", "/etc/alloy/config.alloy")
    host = host_label(settings, f"ssh://deploy@{deployed_stack}.example.com")

    assert text == render_alloy_config(settings, host=host)
    assert read_alloy(text) == [as_read(node) for node in alloy_blocks(settings, host=host)]


# --- components, arguments and references --------------------------------------------------


def test_every_block_is_a_documented_component_with_documented_arguments(any_stack: str) -> None:
    """Each top-level block is an Alloy component or settings block; each argument exists."""
    for node in _read_config(any_stack):
        assert isinstance(node, ReadBlock), f"top-level attribute {node}"
        attributes = _attributes(node)
        if node.name in CONFIG_BLOCKS:
            assert node.label is None
            assert set(attributes) <= CONFIG_BLOCKS[node.name]
            continue

        assert node.name in COMPONENTS, f"{node.name} is not a documented component"
        assert node.label is not None, f"{node.name} needs a label"
        component = COMPONENTS[node.name]
        assert set(attributes) <= component.arguments, node.name
        assert component.required <= set(attributes), node.name
        assert {child.name for child in _blocks(node)} <= component.blocks, node.name


def test_every_stage_and_rule_uses_documented_arguments(any_stack: str) -> None:
    """Nested stages (also inside stage.match) and relabel rules use only their arguments."""

    def check(stage: ReadBlock) -> None:
        assert stage.name in STAGES, f"{stage.name} is not a loki.process stage"
        attributes = set(_attributes(stage))
        assert attributes <= STAGES[stage.name], stage.name
        assert REQUIRED_STAGE_ARGUMENTS.get(stage.name, set()) <= attributes, stage.name
        for nested in _blocks(stage):
            assert stage.name == "stage.match", f"{stage.name} holds a block"
            check(nested)

    config = _read_config(any_stack)
    for node in config:
        if node.name == "loki.process":
            for stage in _blocks(node):
                check(stage)
        if node.name == "discovery.relabel":
            for rule in _blocks(node):
                assert rule.name == "rule"
                assert set(_attributes(rule)) <= RULE_ARGUMENTS
        if node.name == "loki.write":
            for endpoint in _blocks(node):
                assert "url" in _attributes(endpoint)


def test_every_reference_names_a_declared_component_and_a_fitting_export(any_stack: str) -> None:
    """forward_to, targets and relabel_rules point at blocks that exist, by the right export."""
    config = _read_config(any_stack)
    declared = {f"{node.name}.{node.label}": node.name for node in config if node.label}
    seen = 0
    for node in config:
        for name, value in _attributes(node).items():
            for reference in _references(value):
                component_path, export = reference.path.rsplit(".", 1)
                assert component_path in declared, f"{reference.path} names no block"
                exported = COMPONENTS[declared[component_path]].exports
                assert export in exported, f"{reference.path}: no such export"
                assert REFERENCE_ARGUMENTS[(node.name, name)] == exported[export], reference.path
                seen += 1
    assert seen == 4


def test_the_pipeline_runs_from_docker_through_processing_to_loki(any_stack: str) -> None:
    """Discovery feeds the source, the source feeds the processor, the processor feeds Loki."""
    config = {f"{node.name}.{node.label}": node for node in _read_config(any_stack) if node.label}
    source = _attributes(config["loki.source.docker.containers"])
    process = _attributes(config["loki.process.containers"])
    write = config["loki.write.loki"]

    assert source["host"] == DOCKER_HOST
    assert source["targets"] == ReadReference("discovery.docker.containers.targets")
    assert source["relabel_rules"] == ReadReference("discovery.relabel.containers.rules")
    assert source["forward_to"] == [ReadReference("loki.process.containers.receiver")]
    assert process["forward_to"] == [ReadReference("loki.write.loki.receiver")]
    assert _attributes(_blocks(write)[0]) == {"url": LOKI_PUSH_URL}
    assert _attributes(config["discovery.docker.containers"])["host"] == DOCKER_HOST


def test_typed_references_match_the_ones_in_the_text(deployed_stack: str) -> None:
    """The serializer writes each typed reference as the dotted name Alloy resolves."""
    settings = stack_settings(deployed_stack)
    blocks = alloy_blocks(settings, host="h")
    written = [str(ref) for ref in alloy_syntax.references(blocks)]

    assert written == [
        "discovery.docker.containers.targets",
        "discovery.relabel.containers.rules",
        "loki.process.containers.receiver",
        "loki.write.loki.receiver",
    ]


# --- what the pipeline does to the backend's and the frontend's lines -----------------------


def multiline(lines: list[str], first_line: str = FIRST_LINE) -> list[str]:
    """Alloy's multiline stage for one stream, as its source reads (stages/multiline.go).

    Lines before the first start line pass through alone; every later line that does not
    start an entry joins the entry before it. The expression only uses syntax that RE2 and
    Python's `re` read alike.
    """
    pattern = re.compile(first_line)
    entries: list[str] = []
    started = False
    for line in lines:
        if pattern.match(line):
            started = True
            entries.append(line)
        elif started:
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    return entries


TRACEBACK_LINES = [
    "Traceback (most recent call last):",
    '  File "/app/api/orders.py", line 42, in create_order',
    "    total = price / quantity",
    "            ~~~~~~^~~~~~~~~~",
    "ZeroDivisionError: division by zero",
]


def test_a_python_traceback_stays_one_entry_between_other_lines() -> None:
    """uvicorn's plain lines, a traceback down to its exception line, then the next request."""
    lines = [
        "INFO:     Started server process [1]",
        "ERROR:    Exception in ASGI application",
        *TRACEBACK_LINES,
        'INFO:     172.30.0.1:51234 - "GET /health HTTP/1.1" 200 OK',
    ]

    assert multiline(lines) == [
        lines[0],
        lines[1],
        "\n".join(TRACEBACK_LINES),
        lines[-1],
    ]


@pytest.mark.parametrize(
    "exception_line",
    [
        "ZeroDivisionError: division by zero",
        "KeyError: 'user_id'",
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "OSError: [Errno 28] No space left on device",
        "KeyboardInterrupt",
        "asyncpg.exceptions.UniqueViolationError: duplicate key value",
    ],
)
def test_a_tracebacks_closing_exception_line_joins_it(exception_line: str) -> None:
    """Whatever the exception, its `Name: message` line ends the traceback's entry."""
    lines = [*TRACEBACK_LINES[:-1], exception_line]

    assert multiline(lines) == ["\n".join(lines)]


def test_structlog_json_lines_each_stay_one_entry() -> None:
    """The backend's JSON lines, with a traceback escaped inside one, are entries of their own."""
    lines = [
        json.dumps({"event": "order created", "level": "info", "request_id": "r-1"}),
        json.dumps(
            {
                "event": "payment failed",
                "level": "error",
                "exception": "\n".join(TRACEBACK_LINES),
            }
        ),
        json.dumps({"event": "audit", "level": "info", "audit": True, "user_id": "u-7"}),
    ]

    assert multiline(lines) == lines


def test_nextjs_lines_still_ship_and_its_errors_keep_their_stack() -> None:
    """The frontend's marks start entries; an error's indented stack frames stay with it."""
    lines = [
        "> web@0.1.0 start",
        "> next start",
        "   \u25b2 Next.js 15.1.0",
        "   - Local:        http://localhost:3000",
        " \u2713 Ready in 412ms",
        " \u2a2f Error: fetch failed",
        "    at async Page (/app/.next/server/app/page.js:1:2345)",
        " \u26a0 Unsupported metadata viewport",
    ]

    entries = multiline(lines)

    assert "\n".join(entries) == "\n".join(lines), "every line ships"
    assert " \u2713 Ready in 412ms" in entries
    assert "\n".join(lines[5:7]) in entries
    assert lines[-1] in entries


def test_plain_text_lines_each_start_an_entry() -> None:
    """Lines of ordinary text from any other container are not glued together."""
    lines = ["Starting server", "Listening on :8080", "2026-12-03 10:00:00 worker ready", "{}"]

    assert multiline(lines) == lines


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("WARNING:root:disk almost full", "WARNING"),
        ("ERROR:    Exception in ASGI application", "ERROR"),
        ("INFO:     Application startup complete.", "INFO"),
        ('{"level": "info"}', None),
        ("Traceback (most recent call last):", None),
    ],
)
def test_plain_text_levels_are_read_from_the_line_prefix(line: str, level: str | None) -> None:
    """Python's and uvicorn's `LEVEL:` prefix gives plain lines their level."""
    match = re.match(PLAIN_LEVEL, line)

    assert (match.group("level") if match else None) == level


def _stages(stack: str) -> list[ReadBlock]:
    (process,) = [node for node in _read_config(stack) if node.name == "loki.process"]
    return _blocks(process)


def test_labels_are_only_container_service_environment_host_level_and_audit(
    any_stack: str,
) -> None:
    """Relabelling, the source's labels and the stages set no other label on a stream."""
    config = _read_config(any_stack)
    labels: set[str] = set()
    for node in config:
        if node.name == "discovery.relabel":
            labels |= {_attributes(rule)["target_label"] for rule in _blocks(node)}
        if node.name == "loki.source.docker":
            labels |= set(_attributes(node)["labels"])

    def walk(stages: list[ReadBlock]) -> None:
        for stage in stages:
            if stage.name in ("stage.labels", "stage.static_labels"):
                labels.update(_attributes(stage)["values"])
            if stage.name == "stage.label_drop":
                labels.difference_update(_attributes(stage)["values"])
            if stage.name == "stage.structured_metadata":
                labels.difference_update(_attributes(stage)["values"])
            walk(_blocks(stage))

    walk(_stages(any_stack))

    assert labels == {"container", "service", "environment", "host", "level", "audit"}


def test_high_cardinality_keys_become_structured_metadata(any_stack: str) -> None:
    """request_id, user_id and the logger ride along as structured metadata, never as labels."""
    settings = stack_settings(any_stack)
    stages = _stages(any_stack)
    (json_stage,) = [stage for stage in stages if stage.name == "stage.json"]
    (metadata,) = [stage for stage in stages if stage.name == "stage.structured_metadata"]
    extracted = set(_attributes(json_stage)["expressions"])

    assert {"event", "level", "timestamp", "logger"} - extracted == {"event"}, (
        "the event stays in the line, where `| json` reads it"
    )
    assert {"request_id", "user_id", "logger"} <= set(_attributes(metadata)["values"])
    assert set(settings.logging.structured_metadata) <= extracted


def test_the_timestamp_comes_from_the_line_and_the_level_is_normalised(any_stack: str) -> None:
    """structlog's ISO timestamp sets the entry's time; levels are lower-case and known."""
    stages = {stage.name: _attributes(stage) for stage in _stages(any_stack)}

    assert stages["stage.timestamp"] == {
        "source": "timestamp",
        "format": "RFC3339Nano",
        "fallback_formats": list(TIMESTAMP_FALLBACKS),
        "action_on_failure": "skip",
    }
    assert stages["stage.template"]["source"] == "level"
    for level in ("debug", "info", "warning", "error", "critical"):
        assert f'"{level}"' in stages["stage.template"]["template"]


def test_audit_events_get_the_audit_label_from_the_configured_field() -> None:
    """The settings name the JSON field and value; matching entries are labelled audit="true"."""
    settings = settings_with_logging("prod", audit_field="kind", audit_value='audit "trail"')
    text = render_alloy_config(settings, host="h")
    (process,) = [node for node in read_alloy(text) if node.name == "loki.process"]
    stages = _blocks(process)
    (json_stage,) = [stage for stage in stages if stage.name == "stage.json"]
    matches = [stage for stage in stages if stage.name == "stage.match"]

    assert _attributes(json_stage)["expressions"][AUDIT_MARKER] == "kind"
    (audit,) = [stage for stage in matches if AUDIT_MARKER in _attributes(stage)["selector"]]
    assert _attributes(audit)["selector"] == '{audit_marker="audit \\"trail\\""}'
    assert _attributes(_blocks(audit)[0])["values"] == {"audit": "true"}


def test_the_multiline_stage_runs_before_parsing(any_stack: str) -> None:
    """Lines are joined first, so a traceback is parsed, labelled and timed as one entry."""
    names = [stage.name for stage in _stages(any_stack)]

    assert names[:3] == ["stage.decolorize", "stage.multiline", "stage.json"]
    assert names[-2:] == ["stage.label_drop", "stage.structured_metadata"]
    multiline_stage = _attributes(_stages(any_stack)[1])
    assert multiline_stage["firstline"] == FIRST_LINE


def test_the_pipeline_has_the_stages_the_settings_imply() -> None:
    """Structured metadata keys come from the settings."""
    settings = settings_with_logging("staging", structured_metadata=["tenant_id"])
    (metadata,) = [s for s in pipeline_stages(settings) if s.name == "stage.structured_metadata"]

    assert metadata.attribute("values") == {"tenant_id": "", "stream": ""}


@pytest.mark.parametrize(
    ("setting", "docker_host", "label"),
    [
        (None, "ssh://deploy@prod.example.com", "prod.example.com"),
        (None, "tcp://10.0.0.5:2376", "10.0.0.5"),
        (None, "unix:///var/run/docker.sock", "localhost"),
        (None, None, "staging"),
        ("app-1.example.com", "ssh://deploy@prod.example.com", "app-1.example.com"),
    ],
)
def test_the_host_label_names_the_docker_host(
    setting: str | None, docker_host: str | None, label: str
) -> None:
    """The host label is the setting, else the host in docker:host, else the stack."""
    settings = settings_with_logging("staging", host=setting)

    assert host_label(settings, docker_host) == label
