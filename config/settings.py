"""The typed settings of one stack, read once from the `observability:` stack configuration."""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from config.backups import BackupSettings
from config.base import Hostname, HostPort, Slug, StrictModel, UrlPath, WebUrl
from config.edge import EdgeSettings
from config.logging import LoggingSettings
from config.metrics import (
    AlertSettings,
    MetricsSettings,
    Receivers,
    Routing,
    check_alert_timing,
    check_job_names,
)
from config.status_page import StatusPageSettings

NAMESPACE = "observability"
PROJECT = "observability"
LOOPBACK = "127.0.0.1"
DEFAULT_SUBNET = "172.30.0.0/24"


class ConfigError(ValueError):
    """Stack configuration that breaks a rule; each line names the key, the rule and the value."""


class Hostnames(StrictModel):
    """Public host names of the product and of the tools we run for it."""

    app: Hostname
    """The Next.js frontend."""
    api: Hostname
    """The FastAPI backend."""
    grafana: Hostname
    """Grafana, behind the reverse proxy."""
    status: Hostname
    """The public status page, behind the reverse proxy."""


class MonitoredService(StrictModel):
    """One service of the product: probed from outside, scraped from inside."""

    name: Slug
    """Short name; becomes the Prometheus job and the monitor name."""
    health_url: WebUrl
    """Public URL probed from outside (blackbox exporter, status page)."""
    metrics_target: HostPort | None = None
    """`host:port` of its Prometheus endpoint on the Docker network; unset if it has none."""
    metrics_path: UrlPath = "/metrics"
    """Path of its Prometheus endpoint."""
    expected_status: int = Field(default=200, ge=100, le=599)
    """HTTP status a healthy probe receives."""
    keyword: str | None = None
    """Text a healthy response body contains, if any."""


class Components(StrictModel):
    """Which concerns this stack deploys."""

    metrics: bool = True
    """Prometheus, exporters, Alertmanager and Grafana."""
    logging: bool = True
    """Loki and Grafana Alloy."""
    status_page: bool = True
    """Uptime Kuma and its monitors."""
    edge_security: bool = True
    """Cloudflare zone settings, WAF, rate limits and the origin proxy."""
    backups: bool = True
    """S3 backups, KMS and Secrets Manager (needs AWS)."""


class Ports(StrictModel):
    """Where containers publish their ports, and the stack's own Docker network."""

    bind_address: IPv4Address = IPv4Address(LOOPBACK)
    """Host address that container ports are published on."""
    public: list[Slug] = Field(default_factory=list)
    """Roles whose ports are published on every interface instead (a warning is logged)."""
    app_network: str | None = None
    """Existing Docker network of the product's containers, joined to scrape them."""
    subnet: IPv4Network = IPv4Network(DEFAULT_SUBNET)
    """Subnet of the stack's own Docker network; the host's address on it is the first one."""

    @property
    def gateway(self) -> str:
        """The host's own address on the stack network, where host-level exporters listen."""
        return str(next(self.subnet.hosts()))


class Settings(StrictModel):
    """Everything one stack needs to know, validated before any resource is declared."""

    stack: str
    project: str = PROJECT
    environment: Literal["prod", "staging", "local"]
    """Which kind of stack this is; `prod` protects data from deletion."""
    domain: Hostname
    """The Cloudflare zone the host names live in."""
    hostnames: Hostnames
    services: list[MonitoredService] = Field(min_length=1)
    """The product's services: each is probed, scraped and shown on the status page."""
    components: Components = Field(default_factory=Components)
    ports: Ports = Field(default_factory=Ports)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    receivers: Receivers = Field(default_factory=Receivers)
    routing: Routing = Field(default_factory=Routing)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    backups: BackupSettings = Field(default_factory=BackupSettings)
    status_page: StatusPageSettings = Field(default_factory=StatusPageSettings)
    aws_region: str | None = None
    """The stack's `aws:region`, where its backups and secrets live."""

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        names = [service.name for service in self.services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"services: names must be unique, got {duplicates} more than once")

        for severity in ("critical", "warning"):
            for receiver in getattr(self.routing, severity):
                if receiver not in self.receivers.enabled():
                    raise ValueError(
                        f"routing.{severity} names receiver {receiver!r}, "
                        f"which receivers does not configure"
                    )

        if self.alerts.api_service not in names:
            raise ValueError(
                f"alerts.api_service must name one of the services {names}, "
                f"got {self.alerts.api_service!r}"
            )
        check_job_names(names)
        check_alert_timing(self.metrics, self.alerts)

        self.status_page.check_against(names, self.receivers.enabled())
        self.edge.check_stack(
            domain=self.domain,
            hostnames=self.hostnames.model_dump(),
            public_roles=self.ports.public,
            bind_address=self.ports.bind_address,
            app_network=self.ports.app_network,
            enabled=self.components.edge_security,
        )
        return self

    @model_validator(mode="after")
    def _replica_elsewhere(self) -> Settings:
        replica = self.backups.replica_region
        if replica is not None and replica == self.aws_region:
            raise ValueError(f"backups.replica_region must differ from aws:region, got {replica!r}")
        return self

    @property
    def prod(self) -> bool:
        """True for the production stack, whose data is protected from deletion."""
        return self.environment == "prod"


SECTIONS = tuple(
    name for name in Settings.model_fields if name not in ("stack", "project", "aws_region")
)
"""The top-level keys under the `observability:` namespace."""


def settings_from_config(
    stack: str, values: Mapping[str, Any], aws_region: str | None = None
) -> Settings:
    """Validate one stack's `observability:` values (section name to parsed value)."""
    known = [*SECTIONS, *SECRET_KEYS]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            "\n".join(
                f"{NAMESPACE}:{key} is not a known setting{_suggestion(key, known)}"
                f"; known sections: {', '.join(SECTIONS)}"
                for key in unknown
            )
        )

    sections = {key: value for key, value in values.items() if key in SECTIONS}
    try:
        return Settings(stack=stack, aws_region=aws_region, **sections)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def load_settings() -> Settings:
    """Read and validate the current stack's settings from Pulumi's stack configuration."""
    import pulumi
    from pulumi.runtime.config import get_config

    values: dict[str, Any] = {}
    for key in (*SECTIONS, *SECRET_KEYS):
        raw = get_config(f"{NAMESPACE}:{key}")
        if raw is not None and key in SECTIONS:
            values[key] = parse_config_value(raw)
        elif raw is not None:
            values[key] = "[secret]"
    values.update(_unknown_keys())
    region = get_config("aws:region")
    settings = settings_from_config(pulumi.get_stack(), values, region)
    if settings.components.backups and region is None:
        raise ConfigError(
            f"{NAMESPACE}:components.backups needs the stack's aws:region; "
            f"run: pulumi config set aws:region <region> --stack {settings.stack}"
        )
    return settings


SECRET_KEYS: dict[str, str] = {
    "slack_webhook_url": "Slack incoming webhook URL; needed when `receivers.slack` is set.",
    "pagerduty_routing_key": "PagerDuty Events v2 routing key; needed with `receivers.pagerduty`.",
    "smtp_password": "SMTP password of `receivers.email.username`; needed with `receivers.email`.",
    "sentry_dsn_backend": "The backend's Sentry DSN, kept in Secrets Manager (with backups on).",
    "sentry_dsn_frontend": "The frontend's Sentry DSN, kept in Secrets Manager (with backups on).",
    "database_url": "PostgreSQL URL the backups dump from (with backups on).",
}
"""Secret stack config keys and what each is; each is set with `pulumi config set --secret`."""


def _unknown_keys() -> dict[str, Any]:
    # Pulumi's SDK reads one key at a time; the whole map is the only way to spot a misspelled key.
    from pulumi.runtime.config import CONFIG

    prefix = f"{NAMESPACE}:"
    known = {*SECTIONS, *SECRET_KEYS}
    return {
        key[len(prefix) :]: value
        for key, value in CONFIG.get().items()
        if key.startswith(prefix) and key[len(prefix) :] not in known
    }


def parse_config_value(raw: str) -> Any:
    """A stack config value as the program reads it: parsed JSON, or the string itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False):
        key = _key(problem["loc"])
        message = str(problem["msg"])
        message = message.removeprefix("Value error, ")
        for pydantic_words, ours in _WORDING:
            message = message.replace(pydantic_words, ours)
        if problem["type"] == "missing":
            message = "is required"
        elif problem["type"] == "extra_forbidden":
            loc = problem["loc"]
            siblings = _field_names(Settings, loc[:-1])
            message = f"is not a known setting{_suggestion(str(loc[-1]), siblings)}"
        elif problem["type"] == "value_error" and key:
            # A section's own cross-check starts its message with the field it is about.
            field, _, rest = message.partition(" ")
            if field in _field_names(Settings, problem["loc"]):
                key, message = f"{key}.{field}", rest
        where = f"{key} " if key else f"{NAMESPACE}:"
        got = "" if problem["type"] in ("missing", "extra_forbidden") else _got(problem)
        lines.append(f"{where}{message}{got}")
    return "\n".join(lines)


_WORDING = (
    ("Input should be", "must be"),
    ("Input is not", "is not"),
    ("String should", "must"),
    ("List should", "must"),
    ("Dictionary should", "must"),
    (" after validation, not 0", ""),
)


def _suggestion(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model found at `loc` inside `model`, or none if it is no model."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            current = _inner_model(current) if isinstance(part, int) else None
            continue
        field = current.model_fields.get(part)
        current = _inner_model(field.annotation) if field is not None else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None


def _got(problem: Mapping[str, Any]) -> str:
    value = problem.get("input")
    if " got " in str(problem["msg"]) or len(repr(value)) > 80:
        return ""
    return f", got {value!r}"


def _key(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return f"{NAMESPACE}:{path}" if path else ""
