"""Grafana Alloy's configuration: every container's logs from the Docker socket to Loki."""

from __future__ import annotations

from urllib.parse import urlparse

from components.logging import logql
from components.logging.alloy_syntax import Block, block, render
from config.settings import Settings

CONFIG_PATH = "/etc/alloy/config.alloy"
DATA_PATH = "/var/lib/alloy/data"
HTTP_PORT = 12345
DOCKER_SOCKET_PATH = "/var/run/docker.sock"
DOCKER_HOST = f"unix://{DOCKER_SOCKET_PATH}"
LOKI_PUSH_URL = "http://loki:3100/loki/api/v1/push"

# How often Alloy asks the Docker daemon for new containers.
REFRESH_INTERVAL = "15s"

# A new log entry starts on a line that is JSON (structlog), opens a Python traceback, carries
# a level prefix (`INFO:` from uvicorn) or starts with anything but an indented or
# `Name: message` line. Indented lines and a traceback's closing `ValueError: boom` line join
# the entry before them, so a whole traceback stays one entry.
# Limitation: an unindented `Error: message` line from Node joins the entry before it too.
FIRST_LINE = r"^(?: ?[^\sA-Za-z_]|[A-Z][A-Z]+:|[A-Za-z_][A-Za-z0-9_.]*[^A-Za-z0-9_.:])"
MULTILINE_WAIT = "3s"
MULTILINE_MAX_LINES = 500

TRACEBACK = "Traceback (most recent call last):"
LEVELS = ("debug", "info", "warning", "error", "critical")
# Python's logging and uvicorn print the level first in plain text: `WARNING:root:...`.
PLAIN_LEVEL = r"^(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL):"
# Next.js prints server errors after a cross mark (U+2A2F) and warnings after a warning sign.
NEXTJS_ERROR = "^ ?\u2a2f "
NEXTJS_WARNING = "^ ?\u26a0 "
# structlog's TimeStamper(fmt="iso") writes RFC 3339, or no offset when utc=False.
TIMESTAMP_FALLBACKS = ("2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999")

# Extracted names of our own that never reach Loki.
AUDIT_MARKER = "audit_marker"
STREAM = "stream"
# Every stream carries a service label, so this selector matches every entry.
EVERY_ENTRY = logql.selector({"service": ".+"}, operators={"service": "=~"})


def level_template() -> str:
    """Go template that lower-cases a level, maps aliases and drops anything unknown."""
    known = " ".join(logql.string(level) for level in LEVELS)
    return (
        "{{ with .Value }}{{ $level := ToLower . }}"
        '{{ if eq $level "warn" }}warning'
        '{{ else if eq $level "fatal" "exception" }}critical'
        f"{{{{ else if eq $level {known} }}}}{{{{ $level }}}}"
        "{{ end }}{{ end }}"
    )


def host_label(settings: Settings, docker_host: str | None) -> str:
    """The `host` label: the setting, else the host in `docker:host`, else the stack's name."""
    if settings.logging.host:
        return settings.logging.host
    if docker_host:
        name = urlparse(docker_host).hostname
        if name:
            return name
        if docker_host.startswith("unix://"):
            return "localhost"
    return settings.stack


def alloy_blocks(settings: Settings, *, host: str) -> list[Block]:
    """Alloy's configuration as blocks: discovery, relabelling, parsing and shipping."""
    loki = block("loki.write", "loki", block("endpoint", url=LOKI_PUSH_URL))
    process = block(
        "loki.process",
        "containers",
        *pipeline_stages(settings),
        forward_to=[loki.reference("receiver")],
    )
    discovery = block(
        "discovery.docker", "containers", host=DOCKER_HOST, refresh_interval=REFRESH_INTERVAL
    )
    relabel = block("discovery.relabel", "containers", *relabel_rules(), targets=[])
    source = block(
        "loki.source.docker",
        "containers",
        host=DOCKER_HOST,
        targets=discovery.reference("targets"),
        labels={"environment": settings.environment, "host": host},
        relabel_rules=relabel.reference("rules"),
        refresh_interval=REFRESH_INTERVAL,
        forward_to=[process.reference("receiver")],
    )
    # JSON, so this very pipeline reads Alloy's own level like any other service's.
    settings_block = block("logging", level="info", format="json")
    return [settings_block, discovery, relabel, source, process, loki]


def render_alloy_config(settings: Settings, *, host: str) -> str:
    """The text of Alloy's configuration file."""
    return render(alloy_blocks(settings, host=host))


def relabel_rules() -> list[Block]:
    """Labels from Docker's metadata: the container name, its service and its output stream."""
    return [
        _rule("__meta_docker_container_name", "container", regex="/(.*)"),
        # A service is the container's compose service, else our own role label, else its name.
        _rule("__meta_docker_container_name", "service", regex="/(.*)"),
        _rule("__meta_docker_container_label_observability_role", "service", regex="(.+)"),
        _rule("__meta_docker_container_label_com_docker_compose_service", "service", regex="(.+)"),
        # stdout and stderr stay apart until the multi-line stage has joined tracebacks.
        _rule("__meta_docker_container_log_stream", STREAM, regex="(.+)"),
    ]


def pipeline_stages(settings: Settings) -> list[Block]:
    """The `loki.process` stages, in order."""
    logging = settings.logging
    expressions: dict[str, str] = {"level": "", "timestamp": "", "logger": ""}
    expressions.update({key: "" for key in logging.structured_metadata})
    expressions[AUDIT_MARKER] = logging.audit_field
    metadata = {key: "" for key in dict.fromkeys([*logging.structured_metadata, STREAM])}

    return [
        block("stage.decolorize"),
        block(
            "stage.multiline",
            firstline=FIRST_LINE,
            max_wait_time=MULTILINE_WAIT,
            max_lines=MULTILINE_MAX_LINES,
        ),
        block("stage.json", expressions=expressions),
        block("stage.regex", expression=PLAIN_LEVEL),
        block("stage.template", source="level", template=level_template()),
        block("stage.labels", values={"level": ""}),
        _level_when(f"{EVERY_ENTRY} |~ {logql.raw('^' + _regex_escape(TRACEBACK))}", "error"),
        _level_when(f"{EVERY_ENTRY} |~ {logql.raw(NEXTJS_ERROR)}", "error"),
        _level_when(f"{EVERY_ENTRY} |~ {logql.raw(NEXTJS_WARNING)}", "warning"),
        block(
            "stage.timestamp",
            source="timestamp",
            format="RFC3339Nano",
            fallback_formats=list(TIMESTAMP_FALLBACKS),
            action_on_failure="skip",
        ),
        block("stage.labels", values={AUDIT_MARKER: ""}),
        block(
            "stage.match",
            None,
            block("stage.static_labels", values={"audit": "true"}),
            selector=logql.selector({AUDIT_MARKER: logging.audit_value}),
        ),
        block("stage.label_drop", values=[AUDIT_MARKER, STREAM]),
        block("stage.structured_metadata", values=metadata),
    ]


def _rule(source: str, target: str, *, regex: str) -> Block:
    return block("rule", source_labels=[source], regex=regex, target_label=target, action="replace")


def _level_when(selector: str, level: str) -> Block:
    return block(
        "stage.match",
        None,
        block("stage.static_labels", values={"level": level}),
        selector=selector,
    )


def _regex_escape(text: str) -> str:
    # RE2 metacharacters; re.escape would also escape spaces, which RE2 accepts but reads worse.
    return "".join(f"\\{char}" if char in r"\.+*?()|[]{}^$" else char for char in text)
