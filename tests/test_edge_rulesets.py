"""The zone's rulesets: every expression parsed by Cloudflare's wirefilter, scoped, within plan."""

from __future__ import annotations

from typing import Any

import pytest
from octorules_wirefilter import parse_expression

from components.edge import render_rulesets
from components.edge.render_rulesets import Rule, Ruleset, zone_rulesets
from config import Settings
from tests.test_edge_settings import rate_limit, settings_with

PROD_HOSTS = {"app.example.com", "api.example.com", "grafana.example.com", "status.example.com"}
STAGING_HOSTS = {name.replace(".example.com", ".staging.example.com") for name in PROD_HOSTS}

BUSINESS = "business with methods, NAT counting and exact paths"

VARIANTS: dict[str, dict[str, Any]] = {
    "prod as configured": {},
    "free plan, no rate limits": {"plan": "free", "rate_limits": []},
    BUSINESS: {
        "plan": "business",
        "rate_limits": [
            rate_limit(),
            rate_limit(
                name="login",
                path="/auth/login",
                match="exact",
                methods=["POST", "PUT"],
                counting="ip_with_nat",
                period="10m",
                mitigation_timeout="1d",
            ),
        ],
        "waf": {"owasp_paranoia_level": 3, "allowed_ranges": ["2001:db8::/32", "10.0.0.0/8"]},
    },
    "enterprise logging only": {
        "plan": "enterprise",
        "rate_limits": [rate_limit(action="log", period="1h", mitigation_timeout="1h")],
        "waf": {"owasp_action": "log", "internal_tools": ["grafana", "status"]},
    },
    "internal tools challenged everywhere": {"waf": {"allowed_ranges": []}},
}


def rules_of(settings: Settings) -> list[tuple[Ruleset, Rule]]:
    """Every rule of every ruleset the settings declare, with its ruleset."""
    return [(ruleset, rule) for ruleset in zone_rulesets(settings) for rule in ruleset.rules]


def phase(settings: Settings, name: str) -> Ruleset:
    """The one ruleset of a phase."""
    (ruleset,) = [ruleset for ruleset in zone_rulesets(settings) if ruleset.phase == name]
    return ruleset


def rule(settings: Settings, ref: str) -> Rule:
    """The one rule with this ref."""
    (found,) = [rule for _, rule in rules_of(settings) if rule.ref == ref]
    return found


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Settings:
    """Prod's settings under one plan and rule variant."""
    return settings_with("prod", edge=VARIANTS[request.param])


def test_every_expression_parses_with_cloudflares_wirefilter(variant: Settings) -> None:
    """Cloudflare's own expression engine accepts each rule's expression."""
    for ruleset, each in rules_of(variant):
        parsed = parse_expression(each.expression)

        assert "error" not in parsed, f"{ruleset.phase}/{each.ref}: {parsed.get('error')}"
        assert len(each.expression) <= render_rulesets.MAX_EXPRESSION_LENGTH


def test_every_rule_is_scoped_to_the_host_names_of_the_stacks_sharing_the_zone(
    variant: Settings,
) -> None:
    """Each expression starts with `http.host in {...}` naming only prod's and staging's hosts."""
    for _, each in rules_of(variant):
        parsed = parse_expression(each.expression)
        scope = each.expression.split(" and ", 1)[0]
        hosts = set(parse_expression(scope)["string_literals"])

        assert scope.startswith("http.host in {"), each.ref
        assert parsed.get("top_level_op", "and") == "and", each.ref
        assert hosts and hosts <= PROD_HOSTS | STAGING_HOSTS, each.ref


def test_one_ruleset_per_phase_holds_every_rule_of_that_phase(variant: Settings) -> None:
    """A zone has one entrypoint ruleset per phase; no phase appears twice."""
    phases = [ruleset.phase for ruleset in zone_rulesets(variant)]

    assert len(phases) == len(set(phases))
    assert {
        render_rulesets.MANAGED_PHASE,
        render_rulesets.CUSTOM_PHASE,
        render_rulesets.RESPONSE_HEADERS_PHASE,
    } <= set(phases)


def test_rate_limiting_rules_read_only_fields_the_plan_allows(variant: Settings) -> None:
    """The fields wirefilter finds in each rate limiting rule are in the plan's column."""
    allowed = variant.edge.limits.rate_limit_fields
    for ruleset, each in rules_of(variant):
        if ruleset.phase != render_rulesets.RATE_LIMIT_PHASE:
            continue
        fields = set(parse_expression(each.expression)["fields"])

        assert allowed is None or fields <= allowed, (each.ref, fields - (allowed or set()))


def test_no_rule_uses_regular_expressions_which_need_business(variant: Settings) -> None:
    """Regex matching is a business feature; prefix and set matching work on every plan."""
    for _, each in rules_of(variant):
        parsed = parse_expression(each.expression)

        assert parsed["regex_literals"] == [], each.ref
        assert "matches" not in parsed["operators"], each.ref


def test_custom_and_rate_limiting_rules_stay_within_the_plans_counts(variant: Settings) -> None:
    """No more custom or rate limiting rules than the plan allows."""
    limits = variant.edge.limits
    counts = {ruleset.phase: len(ruleset.rules) for ruleset in zone_rulesets(variant)}

    assert counts.get(render_rulesets.CUSTOM_PHASE, 0) <= limits.custom_rules
    assert counts.get(render_rulesets.RATE_LIMIT_PHASE, 0) <= limits.rate_limit_rules


def test_the_api_allows_100_requests_a_minute_per_client_on_both_stacks() -> None:
    """One rule covers prod's and staging's API host names, counting per IP and data center."""
    api = rule(settings_with("prod"), "rate_limit_api")

    assert api.expression == 'http.host in {"api.example.com" "api.staging.example.com"}'
    assert api.action == "block"
    assert api.ratelimit == render_rulesets.RateLimitParameters(
        characteristics=("cf.colo.id", "ip.src"),
        period=60,
        requests_per_period=100,
        mitigation_timeout=600,
    )


def test_the_login_allows_5_requests_a_minute_then_challenges_for_an_hour() -> None:
    """The login rule matches the login path prefix on the API host names."""
    login = rule(settings_with("prod"), "rate_limit_login")

    assert login.expression == (
        'http.host in {"api.example.com" "api.staging.example.com"} '
        'and starts_with(http.request.uri.path, "/auth/login")'
    )
    assert (login.action, login.ratelimit and login.ratelimit.requests_per_period) == (
        "managed_challenge",
        5,
    )
    assert login.ratelimit is not None and login.ratelimit.mitigation_timeout == 3600


def test_exact_paths_and_methods_become_equality_and_set_matches() -> None:
    """On business, a rule can match one exact path and a set of methods."""
    login = rule(settings_with("prod", edge=VARIANTS[BUSINESS]), "rate_limit_login")
    parsed = parse_expression(login.expression)

    assert 'http.request.uri.path eq "/auth/login"' in login.expression
    assert 'http.request.method in {"POST" "PUT"}' in login.expression
    assert set(parsed["fields"]) == {"http.host", "http.request.uri.path", "http.request.method"}
    assert login.ratelimit is not None
    assert login.ratelimit.characteristics == ("cf.colo.id", "cf.unique_visitor_id")


def test_probe_paths_are_blocked_case_insensitively_on_every_host_name() -> None:
    """The probe rule blocks each configured prefix of the lower-cased path."""
    settings = settings_with("prod")
    probes = rule(settings, "block_probe_paths")
    parsed = parse_expression(probes.expression)

    assert probes.action == "block"
    assert set(parsed["functions"]) == {"starts_with", "lower"}
    assert set(settings.edge.waf.probe_paths) <= set(parsed["string_literals"])
    assert set(parsed["string_literals"]) >= PROD_HOSTS | STAGING_HOSTS


def test_grafana_is_challenged_outside_the_allowlisted_ranges() -> None:
    """Prod's and staging's Grafana are reached directly only from the office range."""
    access = rule(settings_with("prod"), "internal_tools_access")

    assert access.expression == (
        'http.host in {"grafana.example.com" "grafana.staging.example.com"} '
        "and not ip.src in {198.51.100.0/24}"
    )
    assert access.action == "managed_challenge"
    assert parse_expression(access.expression)["ip_literals"] == ["198.51.100.0/24"]


def test_without_an_allowlist_every_visitor_of_an_internal_tool_is_challenged() -> None:
    """No ranges: the rule matches the host names alone."""
    access = rule(
        settings_with("prod", edge={"waf": {"allowed_ranges": []}}), "internal_tools_access"
    )

    assert access.expression == 'http.host in {"grafana.example.com" "grafana.staging.example.com"}'


def test_pro_runs_the_cloudflare_managed_and_owasp_rulesets_at_paranoia_level_one() -> None:
    """Managed phase: Cloudflare's ruleset, then OWASP with levels 2 to 4 off."""
    managed = phase(settings_with("prod"), render_rulesets.MANAGED_PHASE)
    cloudflare_managed, owasp = managed.rules

    assert cloudflare_managed.execute_ruleset == render_rulesets.CLOUDFLARE_MANAGED_RULESET
    assert owasp.execute_ruleset == render_rulesets.OWASP_CORE_RULESET
    assert owasp.overrides == render_rulesets.ManagedRulesetOverrides(
        disabled_categories=("paranoia-level-2", "paranoia-level-3", "paranoia-level-4"),
        rule_id=render_rulesets.OWASP_ANOMALY_SCORE_RULE,
        rule_action="block",
        score_threshold=40,
    )


def test_the_free_plan_runs_the_free_managed_ruleset_and_no_owasp() -> None:
    """Free zones have neither the full managed ruleset nor OWASP."""
    managed = phase(
        settings_with("prod", edge=VARIANTS["free plan, no rate limits"]),
        "http_request_firewall_managed",
    )

    assert [each.execute_ruleset for each in managed.rules] == [
        render_rulesets.CLOUDFLARE_FREE_MANAGED_RULESET
    ]


def test_hsts_is_set_on_every_response_of_every_host_name() -> None:
    """A response header transform rule sets Strict-Transport-Security for a year."""
    hsts = rule(settings_with("prod"), "hsts")

    assert hsts.action == "rewrite"
    assert hsts.set_headers == (
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    )
    assert set(parse_expression(hsts.expression)["string_literals"]) == PROD_HOSTS | STAGING_HOSTS


def test_a_stack_that_does_not_own_the_zone_declares_no_ruleset() -> None:
    """Staging's rules live in prod's rulesets."""
    assert zone_rulesets(settings_with("staging")) == []


def test_a_stack_alone_in_its_zone_scopes_rules_to_its_own_host_names() -> None:
    """Without shared stacks, only the stack's own host names appear."""
    settings = settings_with("prod", edge={"shared_with": {}})

    for _, each in rules_of(settings):
        assert set(parse_expression(each.expression)["string_literals"]) & STAGING_HOSTS == set()
