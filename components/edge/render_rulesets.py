"""The zone's entrypoint rulesets, one per phase, as plain structures.

A zone has one entrypoint ruleset per phase, so every rule of a phase lives here, and every
rule is scoped to our host names, including those of the stacks that share the zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from config.edge import COUNTING_CHARACTERISTICS, HOST_ROLES, HostRole, RateLimit
from config.settings import Settings

CLOUDFLARE_MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"
CLOUDFLARE_FREE_MANAGED_RULESET = "77454fe2d30c4220b5701f6fdfb893ba"
OWASP_CORE_RULESET = "4814384a9e5d4991b9815dcfc25d2f1f"
OWASP_ANOMALY_SCORE_RULE = "6179ae15870a4bb7b2d480d4843b323c"
"""The OWASP ruleset's last rule, "949110: Inbound Anomaly Score Exceeded"."""

MANAGED_PHASE = "http_request_firewall_managed"
CUSTOM_PHASE = "http_request_firewall_custom"
RATE_LIMIT_PHASE = "http_ratelimit"
RESPONSE_HEADERS_PHASE = "http_response_headers_transform"

MAX_EXPRESSION_LENGTH = 4096
"""Cloudflare rejects rule expressions longer than this."""


@dataclass(frozen=True)
class RateLimitParameters:
    """How a rate limiting rule counts and for how long it acts."""

    characteristics: tuple[str, ...]
    period: int
    requests_per_period: int
    mitigation_timeout: int


@dataclass(frozen=True)
class ManagedRulesetOverrides:
    """Tag and rule overrides of an executed managed ruleset."""

    disabled_categories: tuple[str, ...] = ()
    rule_id: str | None = None
    rule_action: str | None = None
    score_threshold: int | None = None


@dataclass(frozen=True)
class Rule:
    """One rule of an entrypoint ruleset."""

    ref: str
    description: str
    expression: str
    action: str
    execute_ruleset: str | None = None
    overrides: ManagedRulesetOverrides | None = None
    ratelimit: RateLimitParameters | None = None
    set_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Ruleset:
    """The entrypoint ruleset of one phase of the zone."""

    role: str
    phase: str
    name: str
    description: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)


def host_in(hostnames: Iterable[str]) -> str:
    """`http.host in {...}` for these host names, sorted."""
    quoted = " ".join(f'"{name}"' for name in sorted(set(hostnames)))
    return f"http.host in {{{quoted}}}"


def role_hostnames(settings: Settings, roles: Iterable[HostRole]) -> list[str]:
    """The host names of these roles in this stack and in every stack sharing the zone."""
    hostnames = settings.hostnames.model_dump()
    names: set[str] = set()
    for role in roles:
        names.update(settings.edge.zone_hostnames(hostnames, role))
    return sorted(names)


def zone_hostnames(settings: Settings) -> list[str]:
    """Every public host name of every stack in the zone."""
    return role_hostnames(settings, HOST_ROLES)


def managed_ruleset(settings: Settings) -> Ruleset:
    """Cloudflare's managed ruleset, and the OWASP core ruleset where the plan has it."""
    edge = settings.edge
    scope = host_in(zone_hostnames(settings))
    rules = [
        Rule(
            ref="cloudflare_managed",
            description="Cloudflare Managed Ruleset on our host names",
            expression=scope,
            action="execute",
            execute_ruleset=CLOUDFLARE_MANAGED_RULESET,
        )
        if edge.limits.cloudflare_managed_ruleset
        else Rule(
            ref="cloudflare_free_managed",
            description="Cloudflare Free Managed Ruleset on our host names",
            expression=scope,
            action="execute",
            execute_ruleset=CLOUDFLARE_FREE_MANAGED_RULESET,
        )
    ]
    if edge.owasp:
        waf = edge.waf
        rules.append(
            Rule(
                ref="owasp_core",
                description=(
                    f"OWASP core ruleset at paranoia level {waf.owasp_paranoia_level}, "
                    f"{waf.owasp_action} from score {waf.owasp_score_threshold}"
                ),
                expression=scope,
                action="execute",
                execute_ruleset=OWASP_CORE_RULESET,
                overrides=ManagedRulesetOverrides(
                    disabled_categories=tuple(
                        f"paranoia-level-{level}"
                        for level in range(waf.owasp_paranoia_level + 1, 5)
                    ),
                    rule_id=OWASP_ANOMALY_SCORE_RULE,
                    rule_action=waf.owasp_action,
                    score_threshold=waf.owasp_score_threshold,
                ),
            )
        )
    return Ruleset(
        role="waf-managed",
        phase=MANAGED_PHASE,
        name="observability managed rules",
        description="Managed WAF rulesets on the observability stacks' host names",
        rules=tuple(rules),
    )


def probe_paths_expression(settings: Settings) -> str:
    """Requests for well-known probe paths on our host names."""
    prefixes = " or ".join(
        f'starts_with(lower(http.request.uri.path), "{path}")'
        for path in settings.edge.waf.probe_paths
    )
    return f"{host_in(zone_hostnames(settings))} and ({prefixes})"


def internal_tools_expression(settings: Settings) -> str:
    """Requests for the internal tools' host names from outside the allowlisted ranges."""
    waf = settings.edge.waf
    scope = host_in(role_hostnames(settings, waf.internal_tools))
    if not waf.allowed_ranges:
        return scope
    ranges = " ".join(str(network) for network in sorted(waf.allowed_ranges, key=str))
    return f"{scope} and not ip.src in {{{ranges}}}"


def custom_ruleset(settings: Settings) -> Ruleset:
    """Custom rules: probe paths blocked, internal tools only from allowlisted ranges."""
    waf = settings.edge.waf
    rules = []
    if waf.probe_paths:
        rules.append(
            Rule(
                ref="block_probe_paths",
                description="Block well-known probe paths",
                expression=probe_paths_expression(settings),
                action="block",
            )
        )
    if waf.internal_tools:
        rules.append(
            Rule(
                ref="internal_tools_access",
                description=(
                    f"{', '.join(waf.internal_tools)}: {waf.outside_action} outside the "
                    f"allowlisted ranges"
                ),
                expression=internal_tools_expression(settings),
                action=waf.outside_action,
            )
        )
    return Ruleset(
        role="waf-custom",
        phase=CUSTOM_PHASE,
        name="observability custom rules",
        description="Custom WAF rules on the observability stacks' host names",
        rules=tuple(rules),
    )


def rate_limit_expression(settings: Settings, limit: RateLimit) -> str:
    """The requests one rate limiting rule counts."""
    parts = [host_in(role_hostnames(settings, [limit.host]))]
    if limit.match == "exact":
        parts.append(f'http.request.uri.path eq "{limit.path}"')
    elif limit.path != "/":
        parts.append(f'starts_with(http.request.uri.path, "{limit.path}")')
    if limit.methods:
        methods = " ".join(f'"{method}"' for method in sorted(set(limit.methods)))
        parts.append(f"http.request.method in {{{methods}}}")
    return " and ".join(parts)


def rate_limit_ruleset(settings: Settings) -> Ruleset:
    """Rate limiting rules, in the order the settings list them."""
    rules = tuple(
        Rule(
            ref=f"rate_limit_{limit.name.replace('-', '_')}",
            description=(
                f"{limit.name}: {limit.requests} requests per {limit.period} per client, "
                f"then {limit.action} for {limit.mitigation_timeout}"
            ),
            expression=rate_limit_expression(settings, limit),
            action=limit.action,
            ratelimit=RateLimitParameters(
                characteristics=COUNTING_CHARACTERISTICS[limit.counting],
                period=limit.period_seconds,
                requests_per_period=limit.requests,
                mitigation_timeout=limit.mitigation_timeout_seconds,
            ),
        )
        for limit in settings.edge.rate_limits
    )
    return Ruleset(
        role="rate-limits",
        phase=RATE_LIMIT_PHASE,
        name="observability rate limits",
        description="Rate limits on the observability stacks' host names",
        rules=rules,
    )


def hsts_ruleset(settings: Settings) -> Ruleset:
    """HSTS on every response of our host names, which the zone setting cannot express."""
    return Ruleset(
        role="hsts",
        phase=RESPONSE_HEADERS_PHASE,
        name="observability response headers",
        description="Strict-Transport-Security on the observability stacks' host names",
        rules=(
            Rule(
                ref="hsts",
                description="Strict-Transport-Security on every response",
                expression=host_in(zone_hostnames(settings)),
                action="rewrite",
                set_headers=(("Strict-Transport-Security", settings.edge.hsts.header()),),
            ),
        ),
    )


def zone_rulesets(settings: Settings) -> list[Ruleset]:
    """Every entrypoint ruleset the zone owner declares; empty phases are left alone."""
    if not settings.edge.zone_owner:
        return []
    rulesets = [
        managed_ruleset(settings),
        custom_ruleset(settings),
        rate_limit_ruleset(settings),
        hsts_ruleset(settings),
    ]
    return [ruleset for ruleset in rulesets if ruleset.rules]
