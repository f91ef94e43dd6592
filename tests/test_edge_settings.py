"""Edge settings: what each Cloudflare plan allows, zone ownership, and the locked origin."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, Settings, settings_from_config
from config.edge import PLAN_LIMITS, SUPPORTED_PERIODS
from preview.harness import stack_values


def settings_with(stack: str, edge: dict[str, Any] | None = None, **sections: Any) -> Settings:
    """A stack's settings with keys of its edge section and whole other sections replaced."""
    values = stack_values(stack)
    values["edge"] = {**values.get("edge", {}), **(edge or {})}
    values.update(sections)
    return settings_from_config(stack, values)


def rate_limit(**fields: Any) -> dict[str, Any]:
    """A valid rate limiting rule on the API, with some fields replaced."""
    return {"name": "api", "host": "api", "requests": 100, **fields}


def test_prod_owns_the_zone_and_staging_shares_it() -> None:
    """Prod declares the zone's rules for both stacks; staging declares none of them."""
    prod = settings_with("prod").edge
    staging = settings_with("staging").edge

    assert prod.zone_owner and not staging.zone_owner
    assert prod.zone_id == staging.zone_id
    assert staging.rate_limits == [] and staging.shared_with == {}
    assert prod.shared_with["staging"].model_dump() == stack_values("staging")["hostnames"]


def test_the_local_stack_needs_no_cloudflare_at_all() -> None:
    """With edge security off, a stack without an edge section is valid."""
    local = settings_with("local")

    assert not local.components.edge_security
    assert local.edge.zone_id is None and local.edge.origin is None


def test_prod_limits_the_api_and_the_login_per_client() -> None:
    """The API allows 100 requests a minute per client, the login 5."""
    limits = {limit.name: limit for limit in settings_with("prod").edge.rate_limits}

    assert (limits["api"].requests, limits["api"].period_seconds) == (100, 60)
    assert (limits["login"].requests, limits["login"].period_seconds) == (5, 60)
    assert limits["login"].path == "/auth/login"
    assert limits["login"].mitigation_timeout_seconds == 3600


def test_periods_and_timeouts_follow_cloudflares_published_ceilings() -> None:
    """Free: 10 s only; pro: up to a minute and an hour; business: 10 minutes and a day."""
    assert PLAN_LIMITS["free"].periods == (10,)
    assert PLAN_LIMITS["free"].mitigation_timeouts == (10,)
    assert max(PLAN_LIMITS["pro"].periods) == 60
    assert max(PLAN_LIMITS["pro"].mitigation_timeouts) == 3600
    assert max(PLAN_LIMITS["business"].periods) == 600
    assert max(PLAN_LIMITS["business"].mitigation_timeouts) == 86400
    assert set(PLAN_LIMITS["enterprise"].periods) <= set(SUPPORTED_PERIODS)
    assert [PLAN_LIMITS[plan].rate_limit_rules for plan in PLAN_LIMITS] == [1, 2, 5, 100]


def test_business_counts_behind_nat_and_matches_methods() -> None:
    """IP with NAT support and method matching are business features, accepted there."""
    edge = settings_with(
        "prod",
        edge={
            "plan": "business",
            "rate_limits": [
                rate_limit(
                    name="login",
                    path="/auth/login",
                    methods=["POST"],
                    counting="ip_with_nat",
                    period="10m",
                    mitigation_timeout="1d",
                )
            ],
        },
    ).edge

    assert edge.rate_limits[0].counting == "ip_with_nat"


def test_the_owasp_ruleset_is_deployed_only_where_the_plan_has_it() -> None:
    """Left unset, OWASP follows the plan: off on free, on from pro."""
    assert not settings_with("prod", edge={"plan": "free", "rate_limits": []}).edge.owasp
    assert settings_with("prod", edge={"plan": "pro"}).edge.owasp
    assert not settings_with("prod", edge={"waf": {"owasp": False}}).edge.owasp


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        (
            {"plan": "free"},
            r"observability:edge\.rate_limits holds 2 rules, but the free plan allows 1",
        ),
        (
            {"plan": "free", "rate_limits": [rate_limit(period="10s", mitigation_timeout="10s")]},
            r"observability:edge\.rate_limits\[0\] needs the fields \['http\.host'\], which "
            r"rate limiting rules on the free plan cannot match",
        ),
        (
            {"rate_limits": [rate_limit(period="10m")]},
            r"observability:edge\.rate_limits\[0\]\.period must be one of "
            r"\[10, 15, 20, 30, 40, 45, 60\] seconds on the pro plan, got 10m",
        ),
        (
            {"rate_limits": [rate_limit(mitigation_timeout="1d")]},
            r"observability:edge\.rate_limits\[0\]\.mitigation_timeout must be one of .* "
            r"seconds on the pro plan, got 1d",
        ),
        (
            {"rate_limits": [rate_limit(period="50s")]},
            r"edge\.rate_limits\[0\]\.period must be one of .* on the pro plan, got 50s",
        ),
        (
            {"rate_limits": [rate_limit(counting="ip_with_nat")]},
            r"observability:edge\.rate_limits\[0\]\.counting must be one of \['ip'\] on the "
            r"pro plan, got ip_with_nat",
        ),
        (
            {"rate_limits": [rate_limit(methods=["POST"])]},
            r"observability:edge\.rate_limits\[0\] needs the fields \['http\.request\.method'\]",
        ),
        (
            {"plan": "business", "rate_limits": [rate_limit(action="log")]},
            r"observability:edge\.rate_limits\[0\]\.action log needs the enterprise plan, "
            r"got business",
        ),
        (
            {"plan": "free", "rate_limits": [], "waf": {"owasp": True}},
            r"observability:edge\.waf\.owasp: the OWASP core ruleset is not available on "
            r"the free plan",
        ),
        (
            {"waf": {"owasp_action": "log"}},
            r"observability:edge\.waf\.owasp_action log needs the enterprise plan, got pro",
        ),
        (
            {"rate_limits": [rate_limit(), rate_limit(path="/auth")]},
            r"observability:edge\.rate_limits names must be unique, got \['api'\]",
        ),
        (
            {"waf": {"outside_action": "block"}},
            r"observability:edge\.waf\.allowed_ranges must list at least one range when "
            r"edge\.waf\.outside_action is block",
        ),
        (
            {"waf": {"probe_paths": ["/WP-Admin"]}},
            r"observability:edge\.waf\.probe_paths are matched case-insensitively and must be "
            r"lower case, got \['/WP-Admin'\]",
        ),
        (
            {"waf": {"probe_paths": ['/a"b']}},
            r"observability:edge\.waf\.probe_paths\[0\] must be a URL path starting with '/'",
        ),
        (
            {"rate_limits": [rate_limit(period="1500ms")]},
            r"observability:edge\.rate_limits\[0\]\.period must be a whole number of seconds",
        ),
        ({"zone_id": "ZONE"}, r"observability:edge\.zone_id must match pattern"),
        ({"plan": "premium"}, r"observability:edge\.plan must be 'free', 'pro', 'business'"),
        (
            {"origin": {"address": "not an address"}},
            r"observability:edge\.origin\.address must be an IP address or a host name",
        ),
        (
            {"origin": {"address": "203.0.113.10", "certificate_validity_days": 100}},
            r"observability:edge\.origin\.certificate_validity_days must be 7, 30, 90",
        ),
        (
            {
                "shared_with": {
                    "staging": {**stack_values("staging")["hostnames"], "app": "app.other.org"}
                }
            },
            r"observability:edge\.shared_with\.staging\.app must be in the zone example\.com, "
            r"got app\.other\.org",
        ),
        (
            {"shared_with": {"staging": stack_values("prod")["hostnames"]}},
            r"observability:edge: every host name in the zone must be unique",
        ),
    ],
)
def test_prod_edge_settings_the_plan_or_the_rules_cannot_honour_are_refused(
    edge: dict[str, Any], message: str
) -> None:
    """Each refusal names the setting, the rule and the value."""
    with pytest.raises(ConfigError, match=message):
        settings_with("prod", edge=edge)


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        (
            {"rate_limits": [rate_limit()]},
            r"observability:edge\.rate_limits is set, but this stack does not own the zone "
            r"\(edge\.zone_owner is false\)",
        ),
        ({"waf": {"allowed_ranges": ["10.0.0.0/8"]}}, r"observability:edge\.waf is set, but"),
        ({"hsts": {"preload": True}}, r"observability:edge\.hsts is set, but"),
        (
            {"shared_with": {"prod": stack_values("prod")["hostnames"]}},
            r"observability:edge\.shared_with is set, but",
        ),
    ],
)
def test_a_stack_that_does_not_own_the_zone_declares_none_of_its_rules(
    edge: dict[str, Any], message: str
) -> None:
    """Staging shares prod's zone, so zone-level settings in its file are errors."""
    with pytest.raises(ConfigError, match=message):
        settings_with("staging", edge=edge)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            {"ports": {"public": ["grafana"], "app_network": "product"}},
            r"observability:ports\.public must not name \['grafana'\] while "
            r"components\.edge_security is on",
        ),
        (
            {"ports": {"bind_address": "0.0.0.0", "app_network": "product"}},
            r"observability:ports\.bind_address must be a loopback or private address while "
            r"components\.edge_security is on, got 0\.0\.0\.0",
        ),
        (
            {"ports": {}},
            r"observability:ports\.app_network is required when edge\.origin\.app_upstream",
        ),
    ],
)
def test_with_the_edge_on_only_the_proxy_is_public(sections: dict[str, Any], message: str) -> None:
    """No other container may publish on a public interface, directly or by bind address."""
    with pytest.raises(ConfigError, match=message):
        settings_with("prod", **sections)


def test_the_edge_needs_a_zone_and_an_origin_once_it_is_on() -> None:
    """Turning edge security on for the local stack asks for the zone id first."""
    with pytest.raises(
        ConfigError,
        match=r"observability:edge\.zone_id is required when components\.edge_security is on",
    ):
        settings_with("local", components={"edge_security": True, "backups": False})
