"""Each guardrail fails on a crafted resource that breaks it, with its exact message."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from guardrails import (
    BUCKET_GUARDS,
    DISPOSABLE_IN_PROD,
    ELEVATED_CONTAINERS,
    RESOURCE_RULES,
    SECRET_MARK,
    UNKNOWN_MARK,
    DeclaredResource,
    plaintext_secrets,
    unguarded_buckets,
    violations,
)

CONTAINER = "docker:index/container:Container"
PARAMETER = "aws:ssm/parameter:Parameter"

COMPLIANT_CONTAINER: dict[str, Any] = {
    "name": "prod-prometheus",
    "image": "prom/prometheus:v3.5.0",
    "memory": 512,
    "restart": "unless-stopped",
    "healthcheck": {"tests": ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9090/-/healthy"]},
    "ports": [{"internal": 9090, "external": 9090, "ip": "127.0.0.1"}],
    "labels": [
        {"label": "observability.stack", "value": "prod"},
        {"label": "observability.role", "value": "prometheus"},
    ],
    "envs": ["TZ=UTC", "GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/grafana/secrets/admin_password"],
    "uploads": [
        {"file": "/etc/alertmanager/secrets/slack_webhook_url", "content": SECRET_MARK},
        {"file": "/etc/prometheus/prometheus.yml", "content": "global:\n  scrape_interval: 15s\n"},
    ],
}

TLS_ONLY_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyPlainHttp",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::prod-backups", "arn:aws:s3:::prod-backups/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def container(role: str = "prometheus", **changes: Any) -> DeclaredResource:
    """The compliant container with some inputs changed (None removes an input)."""
    inputs = copy.deepcopy(COMPLIANT_CONTAINER)
    inputs["labels"][1]["value"] = role
    for key, value in changes.items():
        if value is None:
            inputs.pop(key, None)
        else:
            inputs[key] = value
    return DeclaredResource(CONTAINER, f"metrics-{role}", inputs)


def broken(resource: DeclaredResource, environment: str = "prod") -> list[tuple[str, str]]:
    """The (rule, message) pairs a resource breaks."""
    return violations(resource, environment)


def test_the_compliant_container_breaks_no_rule() -> None:
    """The reference container, shaped like components/containers.py builds them, passes."""
    assert broken(container()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"memory": None},
            (
                "container-memory-limit",
                "container metrics-prometheus has no memory limit; set ContainerSpec.memory_mb",
            ),
        ),
        (
            {"memory": 0},
            (
                "container-memory-limit",
                "container metrics-prometheus has no memory limit; set ContainerSpec.memory_mb",
            ),
        ),
        (
            {"healthcheck": None},
            (
                "container-health-check",
                "container metrics-prometheus has no health check; set ContainerSpec.healthcheck",
            ),
        ),
        (
            {"healthcheck": {"tests": ["NONE"]}},
            (
                "container-health-check",
                "container metrics-prometheus has no health check; set ContainerSpec.healthcheck",
            ),
        ),
        (
            {"restart": None},
            (
                "container-restart-policy",
                "container metrics-prometheus has restart policy 'no'; "
                "use one of always, on-failure, unless-stopped",
            ),
        ),
        (
            {"restart": "no"},
            (
                "container-restart-policy",
                "container metrics-prometheus has restart policy 'no'; "
                "use one of always, on-failure, unless-stopped",
            ),
        ),
    ],
    ids=["no-memory", "zero-memory", "no-healthcheck", "healthcheck-none", "no-restart", "no"],
)
def test_a_container_without_limits_health_or_restart_is_refused(
    changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    """Memory limit, health check and restart policy are each required."""
    assert broken(container(**changes)) == [expected]


@pytest.mark.parametrize(
    ("changes", "grant"),
    [
        ({"privileged": True}, "privileged"),
        ({"networkMode": "host"}, "host network"),
        ({"pidMode": "host"}, "host PID namespace"),
        ({"ipcMode": "host"}, "host IPC namespace"),
        ({"capabilities": {"adds": ["CAP_SYS_ADMIN"]}}, "capability SYS_ADMIN"),
        ({"capabilities": {"adds": ["NET_ADMIN"]}}, "capability NET_ADMIN"),
    ],
)
def test_a_container_with_host_powers_is_refused_unless_its_role_is_exempt(
    changes: dict[str, Any], grant: str
) -> None:
    """Privileges, host namespaces and extra capabilities need an ELEVATED_CONTAINERS entry."""
    assert broken(container(**changes)) == [
        (
            "container-not-privileged",
            f"container metrics-prometheus has {grant}; only roles listed in "
            f"ELEVATED_CONTAINERS (policy/guardrails.py) with a reason may",
        )
    ]


def test_exempt_roles_hold_only_the_powers_listed_for_them() -> None:
    """cAdvisor may run privileged but not in the host's network; node exporter the reverse."""
    assert broken(container("cadvisor", privileged=True)) == []
    assert broken(container("node-exporter", networkMode="host", pidMode="host")) == []
    assert [rule for rule, _ in broken(container("cadvisor", networkMode="host"))] == [
        "container-not-privileged"
    ]
    assert [rule for rule, _ in broken(container("node-exporter", privileged=True))] == [
        "container-not-privileged"
    ]


def test_every_exemption_gives_its_reason() -> None:
    """The allowlist says why each role needs its powers."""
    for exemption in ELEVATED_CONTAINERS:
        assert exemption.grants
        assert len(exemption.reason.split()) >= 5, exemption.role


def test_docker_default_capabilities_are_not_extra_powers() -> None:
    """Adding NET_RAW (ICMP probes) grants nothing beyond Docker's defaults."""
    assert broken(container(capabilities={"adds": ["CAP_NET_RAW"]})) == []


@pytest.mark.parametrize(
    ("address", "shown"),
    [("0.0.0.0", "0.0.0.0"), ("::", "::"), (None, "0.0.0.0"), ("1.2.3.4", "1.2.3.4")],
)
def test_a_port_on_a_public_interface_is_refused(address: str | None, shown: str) -> None:
    """Unspecified, missing (Docker binds every interface) and global addresses are public."""
    port: dict[str, Any] = {"internal": 9090, "external": 9090}
    if address is not None:
        port["ip"] = address

    assert broken(container(ports=[port])) == [
        (
            "no-public-ports",
            f"container metrics-prometheus publishes port 9090 on {shown}; only the reverse "
            f"proxy may listen on a public interface (ports 80 and 443)",
        )
    ]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "172.30.0.1", "::1"])
def test_ports_on_loopback_or_private_addresses_are_allowed(address: str) -> None:
    """Loopback and private networks are not public interfaces."""
    assert broken(container(ports=[{"internal": 9090, "external": 9090, "ip": address}])) == []


def test_the_reverse_proxy_alone_publishes_80_and_443_publicly() -> None:
    """The proxy role may listen on every interface, on its web ports only."""
    web = [
        {"internal": 80, "external": 80, "ip": "0.0.0.0"},
        {"internal": 443, "external": 443, "ip": "0.0.0.0"},
    ]
    admin = [{"internal": 2019, "external": 2019, "ip": "0.0.0.0"}]

    assert broken(container("edge-proxy", ports=web)) == []
    assert broken(container("edge-proxy", ports=admin)) == [
        (
            "no-public-ports",
            "container metrics-edge-proxy publishes port 2019 on 0.0.0.0; only the reverse proxy "
            "may listen on a public interface (ports 80 and 443)",
        )
    ]
    assert [rule for rule, _ in broken(container("grafana", ports=web))] == ["no-public-ports"] * 2


def bucket_resource(type_token: str, name: str, **inputs: Any) -> DeclaredResource:
    """A bucket or bucket companion resource with the given inputs."""
    return DeclaredResource(type_token, name, inputs, protect=True, retain_on_delete=True)


ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET = "aws:s3/bucket:Bucket"
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


def test_a_public_access_block_with_a_flag_off_is_refused() -> None:
    """All four public access flags must be on."""
    block = bucket_resource(
        ACCESS_BLOCK, "backups-bucket-access", **{**ALL_BLOCKED, "restrictPublicBuckets": False}
    )
    assert broken(block) == [
        (
            "bucket-private",
            "public access block backups-bucket-access leaves restrictPublicBuckets off",
        )
    ]
    assert broken(bucket_resource(ACCESS_BLOCK, "backups-bucket-access", **ALL_BLOCKED)) == []


def test_a_public_acl_or_grant_is_refused() -> None:
    """Canned public ACLs and grants to all users make a bucket public."""
    acl = "aws:s3/bucketAclV2:BucketAclV2"
    everyone = {"uri": "http://acs.amazonaws.com/groups/global/AllUsers", "type": "Group"}

    assert broken(bucket_resource(acl, "backups-acl", acl="public-read")) == [
        ("bucket-private", "backups-acl sets the canned ACL 'public-read'; buckets stay private")
    ]
    assert broken(
        bucket_resource(
            acl,
            "backups-acl",
            accessControlPolicy={"grants": [{"grantee": everyone, "permission": "READ"}]},
        )
    ) == [("bucket-private", "backups-acl grants access to all users; buckets stay private")]
    assert broken(bucket_resource(acl, "backups-acl", acl="private")) == []


def test_a_bucket_policy_that_allows_everyone_is_refused() -> None:
    """An Allow to the `*` principal opens the bucket to the internet."""
    policy = copy.deepcopy(TLS_ONLY_POLICY)
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}
    )

    assert broken(bucket_resource(POLICY, "backups-policy", policy=json.dumps(policy))) == [
        ("bucket-private", "bucket policy backups-policy allows access to everyone")
    ]


@pytest.mark.parametrize(
    "rules",
    [[], [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}]],
    ids=["no-rule", "no-algorithm"],
)
def test_a_bucket_without_default_encryption_is_refused(rules: list[dict[str, Any]]) -> None:
    """Default encryption must be aws:kms (or AES256) on every rule."""
    shown = [rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for rule in rules]

    assert broken(bucket_resource(ENCRYPTION, "backups-encryption", rules=rules)) == [
        (
            "bucket-encrypted",
            f"encryption configuration backups-encryption does not encrypt by default with "
            f"aws:kms or AES256 (got {shown})",
        )
    ]


def test_kms_default_encryption_is_accepted() -> None:
    """A KMS key by default passes."""
    rule = {
        "applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": "arn:aws:kms:eu-west-1:111122223333:key/backups",
        },
        "bucketKeyEnabled": True,
    }
    assert broken(bucket_resource(ENCRYPTION, "backups-encryption", rules=[rule])) == []


@pytest.mark.parametrize(
    "condition",
    [{}, {"Bool": {"aws:SecureTransport": "true"}}],
    ids=["no-condition", "wrong-value"],
)
def test_a_bucket_policy_without_the_tls_deny_is_refused(condition: dict[str, Any]) -> None:
    """The policy must deny s3:* to everyone when aws:SecureTransport is false."""
    policy = copy.deepcopy(TLS_ONLY_POLICY)
    policy["Statement"][0]["Condition"] = condition

    assert broken(bucket_resource(POLICY, "backups-policy", policy=json.dumps(policy))) == [
        (
            "bucket-tls-only",
            "bucket policy backups-policy does not deny requests without TLS "
            '(a Deny of s3:* to "*" when aws:SecureTransport is false)',
        )
    ]
    assert broken(bucket_resource(POLICY, "p", policy=json.dumps(TLS_ONLY_POLICY))) == []


def test_a_policy_the_engine_cannot_know_yet_is_checked_at_deploy_time() -> None:
    """An unknown policy document during a preview is no violation; `pulumi up` sees it."""
    assert broken(bucket_resource(POLICY, "backups-policy", policy=UNKNOWN_MARK)) == []


def test_a_bucket_lacking_any_guard_is_named() -> None:
    """Each bucket needs its access block, encryption and TLS-only policy."""
    resources = [
        bucket_resource(BUCKET, "backups-bucket"),
        bucket_resource(BUCKET, "logs-bucket"),
        bucket_resource(ACCESS_BLOCK, "backups-bucket-access", **ALL_BLOCKED),
        bucket_resource(ENCRYPTION, "backups-bucket-encryption"),
        bucket_resource(POLICY, "backups-bucket-policy"),
        bucket_resource(ACCESS_BLOCK, "logs-bucket-access", **ALL_BLOCKED),
    ]
    bucket_of = {
        "backups-bucket-access": "backups-bucket",
        "backups-bucket-encryption": "backups-bucket",
        "backups-bucket-policy": "backups-bucket",
        "logs-bucket-access": "logs-bucket",
    }

    assert BUCKET_GUARDS == "bucket-guards"
    assert unguarded_buckets(resources, bucket_of) == [
        "bucket logs-bucket has no default encryption configuration",
        "bucket logs-bucket has no TLS-only bucket policy",
    ]


@pytest.mark.parametrize(
    ("type_token", "kind"),
    [
        ("docker:index/volume:Volume", "data volume"),
        ("aws:s3/bucket:Bucket", "bucket"),
        ("aws:kms/key:Key", "encryption key"),
        ("aws:secretsmanager/secret:Secret", "secret"),
        ("random:index/randomPassword:RandomPassword", "generated password"),
    ],
)
def test_unprotected_prod_data_and_secrets_are_refused(type_token: str, kind: str) -> None:
    """Prod stores of data and credentials carry protect; outside prod they need not."""
    resource = DeclaredResource(type_token, "store", {}, protect=False, retain_on_delete=True)

    assert broken(resource, "prod") == [
        ("prod-data-protected", f"prod {kind} store is not protected (protect=True)")
    ]
    assert broken(resource, "staging") == []


def test_prod_data_that_a_delete_would_destroy_is_refused() -> None:
    """Not retained on delete, forceDestroy and a zero recovery window each lose data."""
    volume = DeclaredResource(
        "docker:index/volume:Volume", "prometheus-data", {}, protect=True, retain_on_delete=False
    )
    bucket = DeclaredResource(
        BUCKET, "backups-bucket", {"forceDestroy": True}, protect=True, retain_on_delete=True
    )
    secret = DeclaredResource(
        "aws:secretsmanager/secret:Secret",
        "slack-webhook",
        {"recoveryWindowInDays": 0},
        protect=True,
        retain_on_delete=True,
    )

    assert broken(volume) == [
        ("prod-data-protected", "prod data volume prometheus-data is not retained on delete")
    ]
    assert broken(bucket) == [
        ("prod-data-protected", "prod bucket backups-bucket sets forceDestroy, which empties it")
    ]
    assert broken(secret) == [
        ("prod-data-protected", "prod secret slack-webhook has no recovery window")
    ]


def test_a_prod_store_listed_as_disposable_may_be_lost() -> None:
    """DISPOSABLE_IN_PROD exempts a store by name, with the reason losing it loses nothing."""
    dumps = DeclaredResource("docker:index/volume:Volume", "backups-dumps", {})

    assert broken(dumps) == []
    assert all(len(reason.split()) >= 5 for reason in DISPOSABLE_IN_PROD.values())


def test_unknown_retention_is_not_a_violation() -> None:
    """CrossGuard cannot see retainOnDelete; protect alone is checked there."""
    volume = DeclaredResource("docker:index/volume:Volume", "data", {}, protect=True)
    assert broken(volume) == []


CANARY_PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH"


@pytest.mark.parametrize(
    ("inputs", "path", "what"),
    [
        ({"envs": ["DB_PASSWORD=hunter2"]}, "envs[0]", "a value named 'DB_PASSWORD'"),
        ({"apiToken": "cf-canary-123"}, "apiToken", "a value named 'apiToken'"),
        ({"secretString": "canary"}, "secretString", "a value named 'secretString'"),
        (
            {"uploads": [{"file": "/etc/am/secrets/pagerduty_routing_key", "content": "pd-1"}]},
            "uploads[0].content",
            "a value named 'pagerduty_routing_key'",
        ),
        (
            {"settings": {"sentryDsn": "sentry-canary"}},
            "settings.sentryDsn",
            "a value named 'sentryDsn'",
        ),
        (
            {"envs": ["DATABASE_URL=postgres://app@db:5432/app"]},
            "envs[0]",
            "a value named 'DATABASE_URL'",
        ),
        ({"note": CANARY_PEM}, "note", "a PEM private key"),
        (
            {
                "uploads": [
                    {
                        "file": "/etc/am/alertmanager.yml",
                        "content": "api_url: "
                        "https://hooks.slack.com/services/T0CANARY/B0CANARY/c4n4ry",
                    }
                ]
            },
            "uploads[0].content",
            "a Slack webhook URL",
        ),
        ({"envs": ["AWS_ACCESS_KEY_ID=AKIAIOSFODNN7CANARY1"]}, "envs[0]", "an AWS access key id"),
        (
            {"command": ["aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1"]},
            "command[0]",
            "an AWS secret access key",
        ),
        (
            {"envs": ["DATABASE_URL=postgres://app:hunter2@db:5432/app"]},
            "envs[0]",
            "a URL with a password",
        ),
    ],
    ids=[
        "env-name",
        "input-name",
        "secret-string",
        "upload-name",
        "nested-dsn",
        "database-url",
        "pem",
        "slack",
        "aws-key-id",
        "aws-secret",
        "url-password",
    ],
)
def test_a_plain_text_secret_in_any_input_is_refused(
    inputs: dict[str, Any], path: str, what: str
) -> None:
    """Secrets recognised by their name or their content must arrive marked secret."""
    resource = DeclaredResource(PARAMETER, "app", inputs)

    assert broken(resource, "local") == [
        (
            "no-plaintext-secrets",
            f"app has {what} in plain text at {path}; pass it as a secret Output",
        )
    ]


@pytest.mark.parametrize(
    "inputs",
    [
        {"envs": [SECRET_MARK, "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/admin"]},
        {"uploads": [{"file": "/etc/am/secrets/smtp_password", "content": SECRET_MARK}]},
        {"kmsMasterKeyId": "arn:aws:kms:eu-west-1:111122223333:key/backups"},
        {"secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack"},
        {"publicKey": "ssh-ed25519 AAAAC3Nza canary"},
        {"key": "backups/2026-12-03.tar.zst", "bucket": "prod-backups"},
        {"passwordLength": 32, "secretName": "prod/slack"},
        {"labels": [{"label": "observability.role", "value": "grafana"}]},
        {"healthcheck": {"tests": ["CMD", "wget", "http://127.0.0.1:3000/api/health"]}},
        {"apiToken": UNKNOWN_MARK},
    ],
    ids=[
        "masked-env",
        "masked-upload",
        "kms-key-id",
        "secret-id",
        "public-key",
        "object-key",
        "names-only",
        "labels",
        "urls",
        "unknown",
    ],
)
def test_secrets_marked_secret_and_references_to_secrets_pass(inputs: dict[str, Any]) -> None:
    """Masked values, file paths, ids, ARNs and public keys are not plain-text secrets."""
    assert broken(DeclaredResource(PARAMETER, "app", inputs), "local") == []


def test_plaintext_secrets_reads_stack_outputs_too() -> None:
    """The same detector checks any mapping, such as a stack's exported outputs."""
    outputs = {"grafana_url": "https://grafana.example.com", "grafana_admin_password": "hunter2"}

    assert list(plaintext_secrets(outputs)) == [
        ("grafana_admin_password", "a value named 'grafana_admin_password'")
    ]


def test_rule_names_are_unique_and_described() -> None:
    """Each rule is one CrossGuard policy with its own name and a description."""
    names = [rule.name for rule in RESOURCE_RULES] + [BUCKET_GUARDS]

    assert len(names) == len(set(names))
    assert all(rule.description.endswith(".") for rule in RESOURCE_RULES)
