"""EdgeSecurity: Cloudflare zone settings, DNS, WAF and rate limits, and the locked origin proxy."""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_tls as tls

from components.containers import ContainerFile, ContainerSpec, HealthCheck, Port, service_container
from components.edge import render_origin, render_rulesets, render_zone
from components.images import image
from config.edge import PROXY_ROLE
from config.settings import Settings

PROXY_MEMORY_MB = 128


def _rule_args(rule: render_rulesets.Rule) -> cloudflare.RulesetRuleArgs:
    parameters = None
    if rule.execute_ruleset is not None:
        overrides = None
        if rule.overrides is not None:
            overrides = cloudflare.RulesetRuleActionParametersOverridesArgs(
                categories=[
                    cloudflare.RulesetRuleActionParametersOverridesCategoryArgs(
                        category=category, enabled=False
                    )
                    for category in rule.overrides.disabled_categories
                ]
                or None,
                rules=[
                    cloudflare.RulesetRuleActionParametersOverridesRuleArgs(
                        id=rule.overrides.rule_id,
                        action=rule.overrides.rule_action,
                        score_threshold=rule.overrides.score_threshold,
                    )
                ]
                if rule.overrides.rule_id is not None
                else None,
            )
        parameters = cloudflare.RulesetRuleActionParametersArgs(
            id=rule.execute_ruleset, overrides=overrides
        )
    elif rule.set_headers:
        parameters = cloudflare.RulesetRuleActionParametersArgs(
            headers={
                header: cloudflare.RulesetRuleActionParametersHeadersArgs(
                    operation="set", value=value
                )
                for header, value in rule.set_headers
            }
        )

    ratelimit = None
    if rule.ratelimit is not None:
        ratelimit = cloudflare.RulesetRuleRatelimitArgs(
            characteristics=list(rule.ratelimit.characteristics),
            period=rule.ratelimit.period,
            requests_per_period=rule.ratelimit.requests_per_period,
            mitigation_timeout=rule.ratelimit.mitigation_timeout,
        )

    return cloudflare.RulesetRuleArgs(
        ref=rule.ref,
        description=rule.description,
        expression=rule.expression,
        action=rule.action,
        action_parameters=parameters,
        ratelimit=ratelimit,
        enabled=True,
    )


class EdgeSecurity(pulumi.ComponentResource):
    """Cloudflare in front of the stack's public host names, and the proxy that is their origin.

    The stack that owns the zone declares its settings and its one entrypoint ruleset per
    phase; every stack declares its own DNS records, Origin CA certificate and proxy.
    """

    hostnames: pulumi.Output[list[str]]
    origin_certificate_expires_on: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        network: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:edge:EdgeSecurity", name, None, opts)
        edge = settings.edge
        hostnames = render_zone.certificate_hostnames(settings)
        if edge.zone_id is None or edge.origin is None or not hostnames:
            raise ValueError(
                "EdgeSecurity needs edge.zone_id, edge.origin and at least one host name to serve"
            )
        zone_id = edge.zone_id
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(
            parent=self, protect=settings.prod, retain_on_delete=settings.prod
        )

        origin_pulls = None
        if edge.zone_owner:
            origin_pulls = cloudflare.AuthenticatedOriginPullsSettings(
                f"{name}-origin-pulls", zone_id=zone_id, enabled=True, opts=child
            )
            # Limitation: a phase entrypoint made earlier in the dashboard must be imported
            # (`pulumi import cloudflare:index/ruleset:Ruleset ...`) before the first `up`.
            for ruleset in render_rulesets.zone_rulesets(settings):
                cloudflare.Ruleset(
                    f"{name}-{ruleset.role}",
                    zone_id=zone_id,
                    kind="zone",
                    phase=ruleset.phase,
                    name=ruleset.name,
                    description=ruleset.description,
                    rules=[_rule_args(rule) for rule in ruleset.rules],
                    opts=child,
                )

        key = tls.PrivateKey(f"{name}-origin-key", algorithm="ECDSA", ecdsa_curve="P256", opts=kept)
        # The mock engine does not apply the provider's secret marking, so mark it here too.
        private_key_pem: pulumi.Output[str] = pulumi.Output.secret(key.private_key_pem)
        request = tls.CertRequest(
            f"{name}-origin-csr",
            private_key_pem=private_key_pem,
            subject=tls.CertRequestSubjectArgs(
                common_name=hostnames[0], organization=settings.project
            ),
            dns_names=hostnames,
            opts=child,
        )
        certificate = cloudflare.OriginCaCertificate(
            f"{name}-origin-certificate",
            csr=request.cert_request_pem,
            hostnames=hostnames,
            request_type="origin-ecc",
            requested_validity=edge.origin.certificate_validity_days,
            opts=kept,
        )

        tls_dir = render_origin.TLS_DIR
        proxy = service_container(
            f"{name}-proxy",
            ContainerSpec(
                role=PROXY_ROLE,
                image=image("caddy"),
                memory_mb=PROXY_MEMORY_MB,
                healthcheck=HealthCheck(
                    test=["CMD", "wget", "-q", "-O", "/dev/null", render_origin.health_url()]
                ),
                command=render_origin.caddy_command(),
                files=[
                    ContainerFile(
                        render_origin.CONFIG_PATH, render_origin.render_caddy_config(settings)
                    ),
                    ContainerFile(
                        f"{tls_dir}/{render_origin.CERTIFICATE_FILE}", certificate.certificate
                    ),
                    ContainerFile(
                        f"{tls_dir}/{render_origin.KEY_FILE}", private_key_pem, permissions="0400"
                    ),
                    ContainerFile(
                        f"{tls_dir}/{render_origin.CLIENT_CA_FILE}", render_origin.ORIGIN_PULL_CA
                    ),
                ],
                ports=[Port(render_origin.HTTPS_PORT, render_origin.HTTPS_PORT)],
                networks=(
                    [settings.ports.app_network]
                    if settings.ports.app_network and render_origin.needs_app_network(settings)
                    else []
                ),
            ),
            stack=settings.stack,
            network=network,
            bind_address=str(settings.ports.bind_address),
            # The proxy is the one container published on every interface of the host.
            public_roles=[PROXY_ROLE],
            parent=self,
            # Once the origin demands Cloudflare's client certificate, Cloudflare must send it.
            depends_on=[origin_pulls] if origin_pulls is not None else [],
        )

        for record in render_zone.dns_records(settings):
            cloudflare.DnsRecord(
                f"{name}-{record.role}-record",
                zone_id=zone_id,
                name=record.name,
                type=record.type,
                content=record.content,
                proxied=True,
                ttl=render_zone.AUTOMATIC_TTL,
                comment=f"observability {settings.stack}: {record.role}",
                # Cloudflare sends traffic here only once the origin serves its certificate.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[proxy]),
            )

        if edge.zone_owner:
            for setting_id, value in render_zone.ZONE_SETTINGS:
                cloudflare.ZoneSetting(
                    f"{name}-{setting_id.replace('_', '-')}",
                    zone_id=zone_id,
                    setting_id=setting_id,
                    value=value,
                    # Strict TLS to the origin holds once the origin serves its certificate.
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=[proxy] if setting_id == "ssl" else []
                    ),
                )

        self.hostnames = pulumi.Output.from_input(hostnames)
        self.origin_certificate_expires_on = certificate.expires_on
        self.register_outputs(
            {
                "hostnames": self.hostnames,
                "origin_certificate_expires_on": self.origin_certificate_expires_on,
            }
        )
