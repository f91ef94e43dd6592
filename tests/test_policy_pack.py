"""The CrossGuard pack: its wrappers under pulumi_policy's own args, and the pack over gRPC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pulumi_policy.policy as sdk_policy
import pytest
import yaml
from crossguard import (
    PACK_NAME,
    POLICIES,
    bucket_guards_policy,
    keep_secret_marks,
    resource_policy,
)
from google.protobuf import empty_pb2, struct_pb2
from guardrails import (
    BUCKET_GUARDS,
    RESOURCE_RULES,
    SECRET_MARK,
    UNKNOWN_MARK,
    Rule,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from preview.harness import ROOT
from tests.conftest import STACKS, preview_of

POLICY_DIR = ROOT / "policy"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"


def rule(name: str) -> Rule:
    """The guardrail of one policy name."""
    return next(candidate for candidate in RESOURCE_RULES if candidate.name == name)


def options(protect: bool = False) -> PolicyResourceOptions:
    """Resource options as pulumi_policy builds them from the engine's request."""
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def validate(rule_name: str, type_token: str, props: dict[str, Any], **opts: Any) -> list[str]:
    """Messages one wrapped policy reports for a resource, through pulumi_policy's args."""
    args = ResourceValidationArgs(
        type_token,
        props,
        f"urn:pulumi:prod::observability::{type_token}::r",
        "r",
        options(**opts),
        None,
    )
    reported: list[str] = []
    resource_policy(rule(rule_name)).validate(args, lambda message, urn: reported.append(message))
    return reported


@pytest.fixture
def prod_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack config the engine hands a policy pack, for a prod stack."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"observability:environment": "prod"}))


@pytest.mark.usefixtures("prod_environment")
def test_a_wrapped_policy_reports_its_guardrails_messages() -> None:
    """The ResourceValidationPolicy hands the engine's view to the pure rule, word for word."""
    assert validate("container-memory-limit", CONTAINER, {"name": "x"}) == [
        "container r has no memory limit; set ContainerSpec.memory_mb"
    ]
    assert validate("container-memory-limit", CONTAINER, {"memory": 256.0}) == []


@pytest.mark.usefixtures("prod_environment")
def test_a_wrapped_policy_reads_protect_and_the_environment_from_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`protect` comes from the resource options, the environment from the stack's config."""
    assert validate("prod-data-protected", VOLUME, {}) == [
        "prod data volume r is not protected (protect=True)"
    ]
    assert validate("prod-data-protected", VOLUME, {}, protect=True) == []

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"observability:environment": "staging"}))
    assert validate("prod-data-protected", VOLUME, {}) == []


def test_the_stack_policy_links_companions_to_buckets_by_property_dependency() -> None:
    """The bucket guard follows the engine's record of where each `bucket` input came from."""
    bucket = PolicyResource(
        "aws:s3/bucket:Bucket", {}, "urn:b", "backups-bucket", options(), None, None, [], {}
    )
    block = PolicyResource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {"bucket": UNKNOWN_MARK},
        "urn:p",
        "backups-bucket-public-access",
        options(),
        None,
        None,
        [bucket],
        {"bucket": [bucket]},
    )
    reported: list[str] = []

    bucket_guards_policy().validate(
        StackValidationArgs([bucket, block]), lambda message, urn: reported.append(message)
    )

    assert reported == [
        "bucket backups-bucket has no default encryption configuration",
        "bucket backups-bucket has no TLS-only bucket policy",
    ]


def test_the_pack_keeps_the_engines_secret_marks() -> None:
    """Secrets reach policies as "[secret]", unknowns as "[unknown]", like the offline preview."""
    keep_secret_marks()
    keep_secret_marks()
    secret = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "hunter2"}

    decoded = sdk_policy.deserialize_properties(
        {"envs": ["TZ=UTC", secret], "nested": {"password": secret}, "ip": UNKNOWN_STRING_VALUE}
    )

    assert decoded == {
        "envs": ["TZ=UTC", SECRET_MARK],
        "nested": {"password": SECRET_MARK},
        "ip": UNKNOWN_MARK,
    }
    # Remediations still get the SDK's own secret-preserving proxies.
    assert sdk_policy.deserialize_properties({"p": secret}, True)["p"] == "hunter2"


def test_the_pack_descriptor_and_requirements_match_the_locked_versions() -> None:
    """PulumiPolicy.yaml runs Python from `venv`; requirements.txt pins what the lock pins."""
    descriptor = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    lock = (ROOT / "requirements.lock").read_text()
    pins = [
        line
        for line in (POLICY_DIR / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]

    assert descriptor["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert pins
    for pin in pins:
        assert f"\n{pin} \\" in lock, f"{pin} differs from requirements.lock"


# The pack as the engine runs it: `python -m pulumi.policy <engine> .` in the pack's directory,
# answering Analyze and AnalyzeStack calls on the port it prints.


class RunningPack:
    """A policy pack process and a client of its analyzer service."""

    def __init__(self, environment: str) -> None:
        env = {
            **os.environ,
            "PULUMI_CONFIG": json.dumps({"observability:environment": environment}),
            "PULUMI_PROJECT": "observability",
            "PULUMI_STACK": environment,
            "PULUMI_DRY_RUN": "true",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=POLICY_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        port = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not port.isdigit():
            self.process.kill()
            _, errors = self.process.communicate(timeout=10)
            raise RuntimeError(f"the policy pack did not start: {errors}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.analyzer = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def analyze(
        self, type_token: str, name: str, inputs: dict[str, Any], protect: bool = False
    ) -> list[tuple[str, str]]:
        """(policy, message) of every diagnostic the pack reports for one resource."""
        response = self.analyzer.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=type_token,
                name=name,
                urn=f"urn:pulumi:stack::observability::{type_token}::{name}",
                properties=_struct(inputs),
                options=analyzer_pb2.AnalyzerResourceOptions(protect=protect),
            ),
            timeout=10,
        )
        return [(d.policyName, d.message.split("\n", 1)[1]) for d in response.diagnostics]

    def close(self) -> None:
        """Stop the pack."""
        self.channel.close()
        self.process.terminate()
        self.process.communicate(timeout=10)


def _wire(value: Any) -> Any:
    """A preview value as the engine sends it: secrets wrapped, unknowns as sentinels."""
    if value == SECRET_MARK:
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "masked-in-the-preview"}
    if value == UNKNOWN_MARK:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _struct(inputs: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(inputs))
    return struct


@pytest.fixture(scope="module", params=STACKS)
def pack(request: pytest.FixtureRequest) -> Iterator[tuple[str, RunningPack]]:
    """The running pack, configured as for each stack's environment."""
    running = RunningPack(str(request.param))
    yield str(request.param), running
    running.close()


def test_the_pack_announces_every_guardrail_as_mandatory(pack: tuple[str, RunningPack]) -> None:
    """GetAnalyzerInfo lists one mandatory policy per guardrail."""
    _, running = pack
    info = running.analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)

    assert info.name == PACK_NAME
    assert [policy.name for policy in info.policies] == [
        *(rule.name for rule in RESOURCE_RULES),
        BUCKET_GUARDS,
    ]
    assert {policy.enforcementLevel for policy in info.policies} == {analyzer_pb2.MANDATORY}
    assert len(POLICIES) == len(info.policies)


def test_the_pack_passes_every_resource_of_its_stack(pack: tuple[str, RunningPack]) -> None:
    """Each resource of the stack, sent as the engine sends it, draws no diagnostic."""
    stack, running = pack
    diagnostics = [
        (resource.name, *diagnostic)
        for resource in preview_of(stack).resources
        for diagnostic in running.analyze(
            resource.type, resource.name, resource.inputs, resource.protect
        )
    ]

    assert diagnostics == []


def test_the_pack_flags_plain_secrets_but_not_secret_marked_ones(
    pack: tuple[str, RunningPack],
) -> None:
    """Over the wire, a secret-wrapped value passes and the same value in plain text does not."""
    _, running = pack
    inputs = {"name": "app", "envs": [SECRET_MARK, "SMTP_PASSWORD=canary-smtp"]}

    assert running.analyze("aws:ssm/parameter:Parameter", "app", inputs) == [
        (
            "no-plaintext-secrets",
            "app has a value named 'SMTP_PASSWORD' in plain text at envs[1]; "
            "pass it as a secret Output",
        )
    ]


def test_the_pack_guards_prod_data_only_in_prod(pack: tuple[str, RunningPack]) -> None:
    """An unprotected volume fails the pack configured for prod and passes elsewhere."""
    stack, running = pack
    expected = [
        ("prod-data-protected", "prod data volume grafana-data is not protected (protect=True)")
    ]

    assert running.analyze(VOLUME, "grafana-data", {"name": "x"}) == (
        expected if stack == "prod" else []
    )


def test_the_pack_refuses_a_privileged_container_with_a_public_port(
    pack: tuple[str, RunningPack],
) -> None:
    """A real container mutated to run privileged on 0.0.0.0 draws both diagnostics."""
    stack, running = pack
    grafana = preview_of(stack).named("metrics-grafana")
    inputs = {
        **grafana.inputs,
        "privileged": True,
        "ports": [{"internal": 3000, "external": 3000, "ip": "0.0.0.0"}],
    }

    assert running.analyze(grafana.type, grafana.name, inputs) == [
        (
            "container-not-privileged",
            "container metrics-grafana has privileged; only roles listed in "
            "ELEVATED_CONTAINERS (policy/guardrails.py) with a reason may",
        ),
        (
            "no-public-ports",
            "container metrics-grafana publishes port 3000 on 0.0.0.0; only the reverse proxy "
            "may listen on a public interface (ports 80 and 443)",
        ),
    ]


def test_the_pack_checks_buckets_across_the_stack(pack: tuple[str, RunningPack]) -> None:
    """AnalyzeStack names a bucket whose companions are missing, linked by dependency."""
    _, running = pack
    bucket_urn = "urn:pulumi:stack::observability::aws:s3/bucket:Bucket::logs"
    response = running.analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type="aws:s3/bucket:Bucket",
                    name="logs",
                    urn=bucket_urn,
                    properties=_struct({"bucket": "prod-logs"}),
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
                ),
                analyzer_pb2.AnalyzerResource(
                    type="aws:s3/bucketPolicy:BucketPolicy",
                    name="logs-policy",
                    urn="urn:pulumi:stack::observability::aws:s3/bucketPolicy:BucketPolicy::p",
                    properties=_struct({"bucket": UNKNOWN_MARK, "policy": UNKNOWN_MARK}),
                    propertyDependencies={
                        "bucket": analyzer_pb2.AnalyzerPropertyDependencies(urns=[bucket_urn])
                    },
                ),
            ]
        ),
        timeout=10,
    )

    assert [(d.policyName, d.message.split("\n", 1)[1]) for d in response.diagnostics] == [
        (BUCKET_GUARDS, "bucket logs has no public access block"),
        (BUCKET_GUARDS, "bucket logs has no default encryption configuration"),
    ]


def test_the_pack_directory_holds_only_the_pack() -> None:
    """PulumiPolicy.yaml, the entry point, its requirements and the two modules it runs."""
    files = {path.name for path in Path(POLICY_DIR).iterdir() if path.name != "__pycache__"}

    assert files - {"venv"} == {
        "PulumiPolicy.yaml",
        "__main__.py",
        "requirements.txt",
        "guardrails.py",
        "crossguard.py",
    }
