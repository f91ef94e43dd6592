"""Settings of the edge: Cloudflare zone, WAF, rate limits and the origin proxy.

What each Cloudflare plan can do comes from Cloudflare's published availability tables
(developers.cloudflare.com: waf/rate-limiting-rules "Availability", waf/custom-rules and
waf/managed-rules "Availability"). A setting the zone's plan cannot honour is refused here,
before any resource exists, with the setting's key in the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PositiveInt

from config.base import Duration, Hostname, Slug, StrictModel, seconds

Plan = Literal["free", "pro", "business", "enterprise"]
HostRole = Literal["app", "api", "grafana", "status"]
Counting = Literal["ip", "ip_with_nat"]
RuleAction = Literal["block", "managed_challenge", "js_challenge", "challenge", "log"]
ChallengeAction = Literal["managed_challenge", "js_challenge", "challenge", "block"]
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

HOST_ROLES: tuple[HostRole, ...] = ("app", "api", "grafana", "status")

PROXY_ROLE = "edge-proxy"
"""The role of the reverse proxy: the only container published on a public interface."""

# Counting periods and mitigation timeouts the rulesets API accepts, in seconds; each plan
# allows the values up to its own ceiling.
SUPPORTED_PERIODS = (
    10, 15, 20, 30, 40, 45, 60, 90, 120, 180, 240, 300, 480, 600, 900, 1200, 1800, 2400, 3600,
    65535, 86400,
)  # fmt: skip

# Rule expression fields per rate-limiting plan column ("Path", "Host", "Method", ...).
_PATH = "http.request.uri.path"
_HOST = "http.host"
_METHOD = "http.request.method"
_FREE_FIELDS = frozenset({_PATH, "cf.bot_management.verified_bot"})
_PRO_FIELDS = _FREE_FIELDS | {
    _HOST,
    "http.request.uri",
    "http.request.full_uri",
    "http.request.uri.query",
}
_BUSINESS_FIELDS = _PRO_FIELDS | {_METHOD, "ip.src", "http.user_agent"}

COUNTING_CHARACTERISTICS: dict[Counting, tuple[str, ...]] = {
    # The data center is a mandatory characteristic of every rate limiting rule.
    "ip": ("cf.colo.id", "ip.src"),
    "ip_with_nat": ("cf.colo.id", "cf.unique_visitor_id"),
}

DEFAULT_PROBE_PATHS = (
    "/.env",
    "/.git",
    "/.aws",
    "/.ds_store",
    "/wp-admin",
    "/wp-login.php",
    "/xmlrpc.php",
    "/phpmyadmin",
    "/cgi-bin",
    "/server-status",
    "/vendor/phpunit",
    "/actuator",
)
"""Path prefixes scanners try on every site; nothing we run serves them."""

DEFAULT_INTERNAL_TOOLS: tuple[HostRole, ...] = ("grafana",)
"""Host names only allowlisted ranges reach directly; everyone else meets a challenge."""

DEFAULT_HSTS_MAX_AGE = 31536000


@dataclass(frozen=True)
class PlanLimits:
    """What one Cloudflare plan allows for the rules this program declares."""

    rate_limit_rules: int
    max_period: int
    max_mitigation_timeout: int
    counting: tuple[Counting, ...]
    rate_limit_fields: frozenset[str] | None  # None: every request field
    custom_rules: int
    cloudflare_managed_ruleset: bool
    owasp: bool
    log_action: bool

    @property
    def periods(self) -> tuple[int, ...]:
        """The counting periods this plan accepts, in seconds."""
        if self.max_period == 10:
            return (10,)
        return tuple(value for value in SUPPORTED_PERIODS if value <= self.max_period)

    @property
    def mitigation_timeouts(self) -> tuple[int, ...]:
        """The mitigation timeouts this plan accepts, in seconds."""
        if self.max_mitigation_timeout == 10:
            return (10,)
        return tuple(value for value in SUPPORTED_PERIODS if value <= self.max_mitigation_timeout)


PLAN_LIMITS: dict[Plan, PlanLimits] = {
    "free": PlanLimits(
        rate_limit_rules=1,
        max_period=10,
        max_mitigation_timeout=10,
        counting=("ip",),
        rate_limit_fields=_FREE_FIELDS,
        custom_rules=5,
        cloudflare_managed_ruleset=False,
        owasp=False,
        log_action=False,
    ),
    "pro": PlanLimits(
        rate_limit_rules=2,
        max_period=60,
        max_mitigation_timeout=3600,
        counting=("ip",),
        rate_limit_fields=_PRO_FIELDS,
        custom_rules=20,
        cloudflare_managed_ruleset=True,
        owasp=True,
        log_action=False,
    ),
    "business": PlanLimits(
        rate_limit_rules=5,
        max_period=600,
        max_mitigation_timeout=86400,
        counting=("ip", "ip_with_nat"),
        rate_limit_fields=_BUSINESS_FIELDS,
        custom_rules=100,
        cloudflare_managed_ruleset=True,
        owasp=True,
        log_action=False,
    ),
    # Limitation: "enterprise" means Enterprise with application security; Advanced Rate
    # Limiting's extra counting characteristics are not offered here.
    "enterprise": PlanLimits(
        rate_limit_rules=100,
        max_period=65535,
        max_mitigation_timeout=86400,
        counting=("ip", "ip_with_nat"),
        rate_limit_fields=None,
        custom_rules=1000,
        cloudflare_managed_ruleset=True,
        owasp=True,
        log_action=True,
    ),
}

_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
_PATH_PREFIX = re.compile(r"^/[A-Za-z0-9._~/%-]*$")
_TARGET_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_UPSTREAM = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")


def _check_whole_seconds(value: str) -> str:
    if not float(seconds(value)).is_integer():
        raise ValueError("must be a whole number of seconds")
    return value


def _check_path(value: str) -> str:
    if not _PATH_PREFIX.match(value):
        raise ValueError("must be a URL path starting with '/' (letters, digits, . _ ~ / % -)")
    return value


def _check_target(value: str) -> str:
    try:
        ip_address(value)
    except ValueError:
        if not _TARGET_HOST.match(value):
            raise ValueError(
                "must be an IP address or a host name such as origin.example.com"
            ) from None
    return value


Seconds = Annotated[Duration, AfterValidator(_check_whole_seconds)]
UrlPath = Annotated[str, AfterValidator(_check_path)]
OriginTarget = Annotated[str, AfterValidator(_check_target)]
Upstream = Annotated[str, Field(pattern=_UPSTREAM.pattern)]


class StackHostnames(StrictModel):
    """The public host names of another stack that shares this stack's zone."""

    app: Hostname
    """That stack's `hostnames.app`."""
    api: Hostname
    """That stack's `hostnames.api`."""
    grafana: Hostname
    """That stack's `hostnames.grafana`."""
    status: Hostname
    """That stack's `hostnames.status`."""


class RateLimit(StrictModel):
    """One rate limiting rule: requests per client on a path of one public host name."""

    name: Slug
    """Names the rule; unique among the rate limits."""
    host: HostRole
    """Which public host name: `app`, `api`, `grafana` or `status`, in every stack of the zone."""
    path: UrlPath = "/"
    """The path the rule counts; `/` with `match: prefix` counts the whole host."""
    match: Literal["prefix", "exact"] = "prefix"
    """`prefix`: paths starting with `path`; `exact`: that path only."""
    methods: list[Method] = Field(default_factory=list)
    """Only these HTTP methods (business plan and up); empty: every method."""
    requests: PositiveInt
    """Requests one client may make per `period`."""
    period: Seconds = "1m"
    """The counting period; the plan limits which values are allowed."""
    mitigation_timeout: Seconds = "10m"
    """How long the action lasts once the rate is exceeded; limited by the plan."""
    action: RuleAction = "block"
    """`block`, `managed_challenge`, `js_challenge`, `challenge`, or `log` (enterprise)."""
    counting: Counting = "ip"
    """Counted per `ip`, or per `ip_with_nat` (business plan and up)."""

    @property
    def period_seconds(self) -> int:
        """The counting period in seconds."""
        return int(seconds(self.period))

    @property
    def mitigation_timeout_seconds(self) -> int:
        """How long the action lasts once triggered, in seconds."""
        return int(seconds(self.mitigation_timeout))

    def fields(self) -> set[str]:
        """The request fields this rule's expression reads."""
        used = {_HOST}
        if not (self.match == "prefix" and self.path == "/"):
            used.add(_PATH)
        if self.methods:
            used.add(_METHOD)
        return used


class WafSettings(StrictModel):
    """Managed rulesets and custom rules of the zone."""

    owasp: bool | None = None
    """Deploy the OWASP core ruleset (pro plan and up); not set: wherever the plan has it."""
    owasp_paranoia_level: int = Field(default=1, ge=1, le=4)
    """OWASP rules up to this paranoia level run; higher levels catch more and misfire more."""
    owasp_score_threshold: Literal[25, 40, 60] = 40
    """OWASP anomaly score that triggers the action: 25 high, 40 medium, 60 low sensitivity."""
    owasp_action: RuleAction = "block"
    """What happens above the OWASP threshold; `log` needs enterprise."""
    probe_paths: list[UrlPath] = Field(default_factory=lambda: list(DEFAULT_PROBE_PATHS))
    """Lower-case path prefixes blocked on every host name; scanners try them everywhere."""
    internal_tools: list[HostRole] = Field(default_factory=lambda: list(DEFAULT_INTERNAL_TOOLS))
    """Host names reached directly only from `allowed_ranges`."""
    allowed_ranges: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    """Address ranges (office, VPN) that reach the internal tools without a challenge."""
    outside_action: ChallengeAction = "managed_challenge"
    """What everyone else meets on an internal tool: a challenge, or `block`."""


class HstsSettings(StrictModel):
    """The Strict-Transport-Security header Cloudflare adds to every response."""

    max_age: int = Field(default=DEFAULT_HSTS_MAX_AGE, ge=0, le=63072000)
    """Seconds browsers remember to use HTTPS only."""
    include_subdomains: bool = True
    """Adds `includeSubDomains`."""
    preload: bool = False
    """Adds `preload`; only for a zone ready for the browsers' preload list."""

    def header(self) -> str:
        """The header value, such as `max-age=31536000; includeSubDomains`."""
        parts = [f"max-age={self.max_age}"]
        if self.include_subdomains:
            parts.append("includeSubDomains")
        if self.preload:
            parts.append("preload")
        return "; ".join(parts)


class OriginSettings(StrictModel):
    """The Docker host behind Cloudflare and what its reverse proxy serves."""

    address: OriginTarget
    """The Docker host's public address (A or AAAA record) or host name (CNAME)."""
    app_upstream: Upstream | None = None
    """The product's web container (host:port on `ports.app_network`); not set: not proxied."""
    api_upstream: Upstream | None = None
    """The product's API container (host:port on `ports.app_network`); not set: not proxied."""
    certificate_validity_days: Literal[7, 30, 90, 365, 730, 1095, 5475] = 5475
    """Validity of the Cloudflare Origin CA certificate the proxy serves."""

    @property
    def record_type(self) -> Literal["A", "AAAA", "CNAME"]:
        """The DNS record type that points a host name at this origin."""
        try:
            address = ip_address(self.address)
        except ValueError:
            return "CNAME"
        return "A" if isinstance(address, IPv4Address) else "AAAA"


_OWNER_ONLY = ("shared_with", "waf", "rate_limits", "hsts")
_NAMESPACE = "observability"


class EdgeSettings(StrictModel):
    """What Cloudflare enforces in front of the public host names."""

    zone_id: str | None = Field(default=None, pattern=_ZONE_ID.pattern)
    """The Cloudflare zone of `domain` (not a secret); required with edge security on."""
    plan: Plan = "free"
    """The zone's plan: `free`, `pro`, `business` or `enterprise`; settings it cannot honour
    are refused."""
    zone_owner: bool = True
    """Whether this stack declares the zone's settings and rulesets; false on a stack that
    shares another stack's zone."""
    shared_with: dict[Slug, StackHostnames] = Field(default_factory=dict)
    """Other stacks in the zone, by name, with their host names; the owner's rules cover them."""
    origin: OriginSettings | None = None
    """The Docker host behind Cloudflare; required with edge security on."""
    waf: WafSettings = Field(default_factory=WafSettings)
    """Managed rulesets and custom rules (zone owner only)."""
    rate_limits: list[RateLimit] = Field(default_factory=list)
    """Rate limiting rules in evaluation order (zone owner only)."""
    hsts: HstsSettings = Field(default_factory=HstsSettings)
    """The Strict-Transport-Security header on every response (zone owner only)."""

    @property
    def limits(self) -> PlanLimits:
        """What the zone's plan allows."""
        return PLAN_LIMITS[self.plan]

    @property
    def owasp(self) -> bool:
        """Whether the OWASP core ruleset is deployed."""
        return self.limits.owasp if self.waf.owasp is None else self.waf.owasp

    def check_stack(
        self,
        *,
        domain: str,
        hostnames: Mapping[str, str],
        public_roles: Sequence[str],
        bind_address: IPv4Address,
        app_network: str | None,
        enabled: bool,
    ) -> None:
        """Check the edge on its own and against the stack's settings; raise ValueError.

        Ownership and plan rules hold whether or not the stack deploys the edge; the rest only
        matters when components.edge_security is on.
        """
        problems = ownership_problems(self) or [*rule_problems(self), *plan_problems(self)]
        if problems:
            # The settings loader prefixes the first line with the namespace; the rest need it too.
            raise ValueError(f"\n{_NAMESPACE}:".join(problems))
        if not enabled:
            return

        if self.zone_id is None:
            raise ValueError("edge.zone_id is required when components.edge_security is on")
        if self.origin is None:
            raise ValueError("edge.origin is required when components.edge_security is on")

        in_zone = {f"hostnames.{role}": name for role, name in hostnames.items()}
        for stack, names in sorted(self.shared_with.items()):
            for role in HOST_ROLES:
                in_zone[f"edge.shared_with.{stack}.{role}"] = getattr(names, role)
        for key, name in in_zone.items():
            if name != domain and not name.endswith(f".{domain}"):
                raise ValueError(f"{key} must be in the zone {domain}, got {name}")
        names_seen = list(in_zone.values())
        repeated = sorted({name for name in names_seen if names_seen.count(name) > 1})
        if repeated:
            raise ValueError(f"edge: every host name in the zone must be unique, got {repeated}")

        others = sorted(set(public_roles) - {PROXY_ROLE})
        if others:
            raise ValueError(
                f"ports.public must not name {others} while components.edge_security is on: "
                f"the edge proxy is the only container on a public interface"
            )
        if bind_address.is_unspecified or bind_address.is_global:
            raise ValueError(
                f"ports.bind_address must be a loopback or private address while "
                f"components.edge_security is on, got {bind_address}"
            )
        upstreams = [self.origin.app_upstream, self.origin.api_upstream]
        if any(upstreams) and app_network is None:
            raise ValueError(
                "ports.app_network is required when edge.origin.app_upstream or "
                "edge.origin.api_upstream is set: the proxy reaches the product there"
            )

    def zone_hostnames(self, hostnames: Mapping[str, str], role: HostRole) -> list[str]:
        """One role's host name in this stack and every stack sharing the zone, sorted."""
        names = {hostnames[role]}
        names.update(getattr(other, role) for other in self.shared_with.values())
        return sorted(names)


def ownership_problems(edge: EdgeSettings) -> list[str]:
    """Settings only the zone's owner may declare, set on a stack that does not own it."""
    if edge.zone_owner:
        return []
    return [
        f"edge.{key} is set, but this stack does not own the zone (edge.zone_owner is "
        f"false): only the owning stack declares the zone's settings and rules"
        for key in _OWNER_ONLY
        if key in edge.model_fields_set
    ]


def rule_problems(edge: EdgeSettings) -> list[str]:
    """Rule settings that contradict each other, whatever the plan."""
    problems = []
    names = [limit.name for limit in edge.rate_limits]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"edge.rate_limits names must be unique, got {duplicates} more than once")
    waf = edge.waf
    upper = [path for path in waf.probe_paths if path != path.lower()]
    if upper:
        problems.append(
            f"edge.waf.probe_paths are matched case-insensitively and must be lower case, "
            f"got {upper}"
        )
    if waf.internal_tools and waf.outside_action == "block" and not waf.allowed_ranges:
        problems.append(
            "edge.waf.allowed_ranges must list at least one range when edge.waf.outside_action "
            "is block, or nobody reaches the internal tools"
        )
    return problems


def custom_rule_count(edge: EdgeSettings) -> int:
    """How many custom rules the settings ask for."""
    return int(bool(edge.waf.probe_paths)) + int(bool(edge.waf.internal_tools))


def plan_problems(edge: EdgeSettings) -> list[str]:
    """Every setting the zone's plan cannot honour, each naming its key."""
    limits = edge.limits
    plan = f"the {edge.plan} plan"
    problems = []

    if len(edge.rate_limits) > limits.rate_limit_rules:
        problems.append(
            f"edge.rate_limits holds {len(edge.rate_limits)} rules, but {plan} allows "
            f"{limits.rate_limit_rules}"
        )
    for index, limit in enumerate(edge.rate_limits):
        key = f"edge.rate_limits[{index}]"
        if limit.period_seconds not in limits.periods:
            problems.append(
                f"{key}.period must be one of {list(limits.periods)} seconds on {plan}, "
                f"got {limit.period}"
            )
        if limit.mitigation_timeout_seconds not in limits.mitigation_timeouts:
            problems.append(
                f"{key}.mitigation_timeout must be one of {list(limits.mitigation_timeouts)} "
                f"seconds on {plan}, got {limit.mitigation_timeout}"
            )
        if limit.counting not in limits.counting:
            problems.append(
                f"{key}.counting must be one of {list(limits.counting)} on {plan}, "
                f"got {limit.counting}"
            )
        if limit.action == "log" and not limits.log_action:
            problems.append(f"{key}.action log needs the enterprise plan, got {edge.plan}")
        allowed = limits.rate_limit_fields
        missing = sorted(limit.fields() - allowed) if allowed is not None else []
        if missing:
            problems.append(
                f"{key} needs the fields {missing}, which rate limiting rules on {plan} "
                f"cannot match (it allows {sorted(allowed or ())})"
            )

    if custom_rule_count(edge) > limits.custom_rules:
        problems.append(
            f"edge.waf asks for {custom_rule_count(edge)} custom rules, but {plan} allows "
            f"{limits.custom_rules}"
        )
    if edge.waf.owasp and not limits.owasp:
        problems.append(
            f"edge.waf.owasp: the OWASP core ruleset is not available on {plan}; "
            f"use pro or higher, or leave edge.waf.owasp unset"
        )
    if edge.owasp and edge.waf.owasp_action == "log" and not limits.log_action:
        problems.append(f"edge.waf.owasp_action log needs the enterprise plan, got {edge.plan}")
    return problems
