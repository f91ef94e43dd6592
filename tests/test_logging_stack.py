"""LoggingStack in the preview: Loki and Alloy containers, volumes, and Loki's own S3 bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string

from components.bucket_policies import bucket_policy, policy_json
from components.images import image
from components.logging import render_alloy, render_loki
from components.logging.component import go_memory_limit
from components.logging.render_storage import loki_identity_policy
from preview import Preview, run_preview
from preview.harness import SECRET_MARK
from tests.conftest import preview_of
from tests.test_logging_settings import S3, SWITCH_TO_S3

CONTAINER = "docker:index/container:Container"
BUCKET = "aws:s3/bucket:Bucket"


def logging_resources(preview: Preview) -> list[Any]:
    """Resources under the LoggingStack component, the component itself included."""
    return [
        resource
        for resource in preview.resources
        if resource.name == "logging" or resource.parent == "logging"
    ]


@pytest.fixture(scope="module")
def s3_previews() -> dict[str, Preview]:
    """Prod and staging with Loki's storage switched to S3."""
    return {
        stack: run_preview(stack, overrides={"logging": SWITCH_TO_S3})
        for stack in ("prod", "staging")
    }


def test_the_component_declares_loki_alloy_and_their_volumes(any_stack: str) -> None:
    """One component, children named after it: two containers and two volumes."""
    preview = preview_of(any_stack)
    names = sorted(resource.name for resource in logging_resources(preview))

    assert preview.named("logging").type == "observability:logging:LoggingStack"
    assert names == [
        "logging",
        "logging-alloy",
        "logging-alloy-data",
        "logging-loki",
        "logging-loki-data",
    ]


def test_loki_runs_the_pinned_image_checking_itself_with_its_data_on_a_volume(
    any_stack: str,
) -> None:
    """Loki's distroless image checks its own readiness; /loki is a named volume."""
    loki = preview_of(any_stack).named("logging-loki").inputs

    assert loki["name"] == f"{any_stack}-loki"
    assert loki["image"] == image("loki")
    assert loki["healthcheck"]["tests"] == ["CMD", "/usr/bin/loki", "-health"]
    assert loki["command"] == render_loki.loki_flags()
    assert loki["mounts"] == [
        {"target": "/loki", "type": "volume", "readOnly": False, "source": f"{any_stack}-loki-data"}
    ]
    assert loki["networksAdvanced"][0]["aliases"] == ["loki"]
    assert loki["envs"] == [go_memory_limit(loki["memory"])]


def test_alloy_reads_the_docker_socket_read_only(any_stack: str) -> None:
    """The socket is bind-mounted read-only; positions live on Alloy's own volume."""
    alloy = preview_of(any_stack).named("logging-alloy").inputs
    mounts = {mount["target"]: mount for mount in alloy["mounts"]}

    assert alloy["image"] == image("alloy")
    assert mounts["/var/run/docker.sock"] == {
        "target": "/var/run/docker.sock",
        "source": "/var/run/docker.sock",
        "type": "bind",
        "readOnly": True,
    }
    assert mounts[render_alloy.DATA_PATH]["source"] == f"{any_stack}-alloy-data"
    assert alloy.get("privileged") in (None, False)
    assert alloy["networksAdvanced"][0]["aliases"] == ["alloy"]


def test_alloy_listens_where_prometheus_scrapes_it(any_stack: str) -> None:
    """Alloy serves its metrics on every interface of its container, port 12345."""
    alloy = preview_of(any_stack).named("logging-alloy").inputs

    assert alloy["command"] == [
        "run",
        "--server.http.listen-addr=0.0.0.0:12345",
        f"--storage.path={render_alloy.DATA_PATH}",
        "--disable-reporting",
        render_alloy.CONFIG_PATH,
    ]
    assert alloy["healthcheck"]["tests"][:3] == ["CMD", "bash", "-c"]
    assert "/dev/tcp/127.0.0.1/12345" in alloy["healthcheck"]["tests"][3]


def test_prometheus_scrapes_loki_and_alloy(any_stack: str) -> None:
    """The metrics stack scrapes both by their roles on the stack network."""
    import yaml

    text = preview_of(any_stack).file(f"{any_stack}-prometheus", "/etc/prometheus/prometheus.yml")
    targets = {
        target
        for job in yaml.safe_load(text)["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }

    assert {"loki:3100", "alloy:12345"} <= targets


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("staging", False)])
def test_volumes_are_protected_in_prod_only(stack: str, protected: bool) -> None:
    """Prod's log data survives `pulumi destroy`; staging's may go."""
    preview = preview_of(stack)
    for name in ("logging-loki-data", "logging-alloy-data"):
        volume = preview.named(name)
        assert (volume.protect, volume.retain_on_delete) == (protected, protected)


def test_switching_to_s3_declares_a_hardened_bucket(s3_previews: dict[str, Preview]) -> None:
    """Versions, default encryption, no public access, TLS only, old versions expire."""
    for stack, preview in s3_previews.items():
        children = {resource.name: resource for resource in logging_resources(preview)}
        bucket = children["logging-bucket"].inputs
        versioning = children["logging-bucket-versioning"].inputs
        encryption = children["logging-bucket-encryption"].inputs
        public = children["logging-bucket-public-access"].inputs
        policy = json.loads(children["logging-bucket-policy"].inputs["policy"])
        lifecycle = children["logging-bucket-lifecycle"].inputs["rules"][0]

        assert bucket["bucket"] == f"observability-{stack}-loki-123456789012"
        assert bucket["region"] == S3["region"]
        assert versioning["versioningConfiguration"] == {"status": "Enabled"}
        rule = encryption["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
        assert {
            key: public[key] for key in public if key.startswith(("block", "ignore", "restrict"))
        } == {
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        }
        assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert policy["Statement"][0]["Effect"] == "Deny"
        assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("staging", False)])
def test_the_loki_bucket_is_protected_in_prod(
    s3_previews: dict[str, Preview], stack: str, protected: bool
) -> None:
    """Prod's bucket survives destroy and rename; staging's may be emptied and removed."""
    bucket = s3_previews[stack].named("logging-bucket")

    assert (bucket.protect, bucket.retain_on_delete) == (protected, protected)
    assert bucket.inputs["forceDestroy"] is (not protected)


def test_the_s3_credentials_reach_loki_only_as_secret_environment_values(
    s3_previews: dict[str, Preview],
) -> None:
    """The key pair from Secrets Manager is masked in the preview and in no file."""
    for preview in s3_previews.values():
        loki = preview.named("logging-loki").inputs
        assert loki["envs"][1:] == [SECRET_MARK, SECRET_MARK]
        unmasked = list(preview.walk_strings())
        assert "AWS_SECRET_ACCESS_KEY=preview-secret-key" in unmasked
        for (container, path), content in preview.files().items():
            assert "preview-secret-key" not in content, f"{container}:{path}"


def test_the_bucket_and_the_identity_policy_are_exported(s3_previews: dict[str, Preview]) -> None:
    """Operators attach the exported least-privilege policy to the secret's IAM identity."""
    outputs = s3_previews["prod"].outputs
    bucket = "observability-prod-loki-123456789012"

    assert outputs["loki_bucket"] == bucket
    assert json.loads(outputs["loki_bucket_identity_policy"]) == loki_identity_policy(bucket)


@pytest.mark.parametrize(
    "policy", [loki_identity_policy("observability-prod-loki-1"), bucket_policy("b")]
)
def test_parliament_finds_nothing_wrong_with_the_policies(policy: dict[str, Any]) -> None:
    """AWS's action and resource names are right, with no wildcard grants."""
    findings = analyze_policy_string(policy_json(policy)).findings

    assert [finding.issue for finding in findings] == []
