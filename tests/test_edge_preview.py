"""The edge in the offline preview: zone resources for the owning stack only, a locked origin."""

from __future__ import annotations

import json

import pytest

from components.edge import render_origin
from components.edge.render_zone import ZONE_SETTINGS
from tests.conftest import preview_of

ZONE_TYPES = (
    "cloudflare:index/zoneSetting:ZoneSetting",
    "cloudflare:index/ruleset:Ruleset",
    "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings",
)
RULESET = "cloudflare:index/ruleset:Ruleset"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
CERTIFICATE = "cloudflare:index/originCaCertificate:OriginCaCertificate"
CONTAINER = "docker:index/container:Container"
ZONE_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_prod_declares_the_zones_tls_settings_one_resource_each() -> None:
    """SSL full (strict), HTTPS only, TLS 1.2 minimum, TLS 1.3, rewrites, browser check."""
    settings = preview_of("prod").of_type("cloudflare:index/zoneSetting:ZoneSetting")

    assert {(each.inputs["settingId"], each.inputs["value"]) for each in settings} == set(
        ZONE_SETTINGS
    )
    assert {each.inputs["zoneId"] for each in settings} == {ZONE_ID}
    assert ("ssl", "strict") in ZONE_SETTINGS and ("min_tls_version", "1.2") in ZONE_SETTINGS


def test_prod_turns_on_authenticated_origin_pulls_for_the_zone() -> None:
    """Cloudflare presents its client certificate to every origin in the zone."""
    (pulls,) = preview_of("prod").of_type(ZONE_TYPES[2])

    assert pulls.inputs == {"zoneId": ZONE_ID, "enabled": True}


def test_prod_declares_the_managed_custom_rate_limit_and_header_rulesets() -> None:
    """One zone entrypoint ruleset per phase, each with typed rules."""
    rulesets = {each.inputs["phase"]: each for each in preview_of("prod").of_type(RULESET)}

    assert set(rulesets) == {
        "http_request_firewall_managed",
        "http_request_firewall_custom",
        "http_ratelimit",
        "http_response_headers_transform",
    }
    assert {each.inputs["kind"] for each in rulesets.values()} == {"zone"}
    login = rulesets["http_ratelimit"].inputs["rules"][1]
    assert login["ratelimit"] == {
        "characteristics": ["cf.colo.id", "ip.src"],
        "period": 60,
        "requestsPerPeriod": 5,
        "mitigationTimeout": 3600,
    }
    owasp = rulesets["http_request_firewall_managed"].inputs["rules"][1]
    assert owasp["actionParameters"]["id"] == "4814384a9e5d4991b9815dcfc25d2f1f"
    hsts = rulesets["http_response_headers_transform"].inputs["rules"][0]
    assert hsts["actionParameters"]["headers"] == {
        "Strict-Transport-Security": {
            "operation": "set",
            "value": "max-age=31536000; includeSubDomains",
        }
    }


def test_staging_shares_the_zone_and_declares_none_of_its_settings_or_rulesets() -> None:
    """Only the owning stack declares zone-level resources."""
    staging = preview_of("staging")

    for type_token in ZONE_TYPES:
        assert staging.of_type(type_token) == [], type_token


@pytest.mark.parametrize(
    ("stack", "domain"), [("prod", "example.com"), ("staging", "staging.example.com")]
)
def test_each_deployed_stack_proxies_its_four_public_host_names(stack: str, domain: str) -> None:
    """App, API, Grafana and status page: proxied A records to the stack's origin."""
    records = preview_of(stack).of_type(DNS_RECORD)

    assert sorted(each.inputs["name"] for each in records) == [
        f"{role}.{domain}" for role in ("api", "app", "grafana", "status")
    ]
    assert {
        (each.inputs["type"], each.inputs["proxied"], each.inputs["ttl"]) for each in records
    } == {("A", True, 1)}
    assert len({each.inputs["content"] for each in records}) == 1


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_origin_certificate_is_an_origin_ca_certificate_for_the_stacks_host_names(
    stack: str,
) -> None:
    """A key, a CSR and Cloudflare's Origin CA certificate covering exactly the proxied names."""
    preview = preview_of(stack)
    (certificate,) = preview.of_type(CERTIFICATE)
    names = sorted(each.inputs["name"] for each in preview.of_type(DNS_RECORD))

    assert certificate.inputs["hostnames"] == names
    assert certificate.inputs["requestType"] == "origin-ecc"
    assert preview.named("edge-origin-csr").inputs["dnsNames"] == names
    assert preview.named("edge-origin-csr").inputs["privateKeyPem"] == "[secret]"


def test_prod_keeps_its_origin_key_and_certificate_through_a_destroy() -> None:
    """Prod's key and certificate are protected and retained; staging's are not."""
    for name in ("edge-origin-key", "edge-origin-certificate"):
        prod, staging = preview_of("prod").named(name), preview_of("staging").named(name)

        assert (prod.protect, prod.retain_on_delete) == (True, True)
        assert (staging.protect, staging.retain_on_delete) == (False, False)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_proxy_is_the_only_container_on_a_public_interface(stack: str) -> None:
    """Every other published port stays on the bind address."""
    public = {
        each.inputs["name"]: [port["external"] for port in each.inputs.get("ports", [])]
        for each in preview_of(stack).of_type(CONTAINER)
        if any(port["ip"] == "0.0.0.0" for port in each.inputs.get("ports", []))
    }

    assert public == {f"{stack}-edge-proxy": [443]}


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_proxy_receives_its_config_certificate_secret_key_and_the_pull_ca(stack: str) -> None:
    """Four files; the key is a secret file readable by its owner only."""
    preview = preview_of(stack)
    proxy = preview.named("edge-proxy")
    uploads = {upload["file"]: upload for upload in proxy.inputs["uploads"]}
    tls = render_origin.TLS_DIR

    assert set(uploads) == {
        render_origin.CONFIG_PATH,
        f"{tls}/origin.pem",
        f"{tls}/origin-key.pem",
        f"{tls}/cloudflare-origin-pull-ca.pem",
    }
    assert uploads[f"{tls}/origin-key.pem"]["content"] == "[secret]"
    assert uploads[f"{tls}/origin-key.pem"]["permissions"] == "0400"
    assert (
        uploads[f"{tls}/cloudflare-origin-pull-ca.pem"]["content"] == render_origin.ORIGIN_PULL_CA
    )
    config = json.loads(uploads[render_origin.CONFIG_PATH]["content"])
    policy = config["apps"]["http"]["servers"]["origin"]["tls_connection_policies"][0]
    assert policy["client_authentication"]["mode"] == "require_and_verify"
    # Every file Caddy reads is one the container receives: a missing CA file fails open in
    # Caddy before 2.11.1, so the paths must agree exactly.
    (loaded,) = config["apps"]["tls"]["certificates"]["load_files"]
    read = {*policy["client_authentication"]["trusted_ca_certs_pem_files"], loaded["certificate"]}
    assert read | {loaded["key"]} == set(uploads) - {render_origin.CONFIG_PATH}
    assert "PRIVATE KEY" not in uploads[render_origin.CONFIG_PATH]["content"]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_proxy_joins_the_product_network_to_reach_the_app_and_the_api(stack: str) -> None:
    """The stack's network for Grafana and Uptime Kuma, the product's for frontend and backend."""
    proxy = preview_of(stack).named("edge-proxy")
    networks = [network["name"] for network in proxy.inputs["networksAdvanced"]]

    assert networks[1:] == ["product"]
    assert proxy.inputs["networksAdvanced"][0]["aliases"] == ["edge-proxy"]


def test_the_local_stack_declares_nothing_at_cloudflare() -> None:
    """With edge security off, no Cloudflare or TLS resource and no proxy exist."""
    local = preview_of("local")

    assert [
        each.type for each in local.resources if each.type.startswith(("cloudflare", "tls"))
    ] == []
    assert all(each.name != "edge-proxy" for each in local.resources)
