"""Every resource of every stack keeps every guardrail; canary secrets never travel unmarked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from guardrails import (
    BUCKET_ENCRYPTION,
    BUCKETS,
    DISPOSABLE_IN_PROD,
    ELEVATED_CONTAINERS,
    PUBLIC_ENTRYPOINTS,
    DeclaredResource,
    no_plaintext_secrets,
    plaintext_secrets,
    unguarded_buckets,
    violations,
)

from config.edge import PROXY_ROLE
from config.settings import SECRET_KEYS
from preview import Preview, run_preview
from preview.harness import stack_values
from tests.conftest import STACKS, preview_of

# Canary values shaped like the real thing, so content detectors see what they would in prod.
SLACK_CANARY = "https://hooks.slack.com/services/T0CANARY/B0CANARY/canary{n}slack"
URL_CANARY = "postgres://canary:canary{n}@db.internal:5432/{key}"


def canaries() -> dict[str, str]:
    """One recognisable canary value per secret key the program reads."""
    values = {}
    for index, key in enumerate(SECRET_KEYS):
        shape = "canary{n}-{key}"
        if key.endswith("_url"):
            shape = SLACK_CANARY if "slack" in key else URL_CANARY
        values[key] = shape.format(n=index, key=key)
    return values


def environment_of(stack: str) -> str:
    """The stack's `observability:environment`, the setting the CrossGuard pack reads."""
    return str(stack_values(stack)["environment"])


def declared(preview: Preview) -> list[DeclaredResource]:
    """The guardrails' view of every resource a preview declared."""
    return [
        DeclaredResource(
            type=resource.type,
            name=resource.name,
            inputs=resource.inputs,
            protect=resource.protect,
            retain_on_delete=resource.retain_on_delete,
        )
        for resource in preview.resources
    ]


def bucket_links(resources: list[DeclaredResource]) -> dict[str, str]:
    """Each bucket companion's name to its bucket, by the `bucket` input's mocked value.

    Under the mock engine a bucket's id is `<name>-id` and its name echoes its input; the real
    engine links them by property dependency instead (see policy/crossguard.py).
    """
    by_reference: dict[Any, str] = {}
    for bucket in (resource for resource in resources if resource.type in BUCKETS):
        by_reference[f"{bucket.name}-id"] = bucket.name
        if bucket.inputs.get("bucket"):
            by_reference[bucket.inputs["bucket"]] = bucket.name
    return {
        resource.name: by_reference[resource.inputs["bucket"]]
        for resource in resources
        if resource.type not in BUCKETS and resource.inputs.get("bucket") in by_reference
    }


def paths_holding(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """Paths, in the guardrails' notation, of every string in `value` containing `needle`."""
    if isinstance(value, str) and needle in value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from paths_holding(item, needle, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_holding(item, needle, f"{path}[{index}]")


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_the_stack_keeps_every_guardrail(stack: str) -> None:
    """Containers, volumes, buckets, keys and secrets of the stack break no rule."""
    environment = environment_of(stack)
    broken = [
        (resource.name, rule, message)
        for resource in declared(preview_of(stack))
        for rule, message in violations(resource, environment)
    ]

    assert broken == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_of_the_stack_has_its_access_block_encryption_and_tls_policy(
    stack: str,
) -> None:
    """The stack-wide bucket guard finds each bucket's companions."""
    resources = declared(preview_of(stack))
    buckets = [resource for resource in resources if resource.type in BUCKETS]

    assert buckets or stack == "local", "prod and staging keep their backups in buckets"
    assert unguarded_buckets(resources, bucket_links(resources)) == []


def test_dropping_a_real_buckets_encryption_is_caught() -> None:
    """A prod bucket stripped of its encryption configuration fails the stack-wide guard."""
    resources = declared(preview_of("prod"))
    encryption = next(r for r in resources if r.type in BUCKET_ENCRYPTION)
    bucket = bucket_links(resources)[encryption.name]
    remaining = [resource for resource in resources if resource is not encryption]

    assert unguarded_buckets(remaining, bucket_links(remaining)) == [
        f"bucket {bucket} has no default encryption configuration"
    ]


def test_prod_protects_what_staging_may_delete() -> None:
    """The prod-only rule bites: prod's data volumes carry protect, staging's do not need to."""
    volumes = [r for r in declared(preview_of("prod")) if r.type == "docker:index/volume:Volume"]

    volumes = [volume for volume in volumes if volume.name not in DISPOSABLE_IN_PROD]
    assert volumes
    assert all(volume.protect and volume.retain_on_delete for volume in volumes)
    unprotected = DeclaredResource(volumes[0].type, volumes[0].name, volumes[0].inputs)
    assert [rule for rule, _ in violations(unprotected, environment_of("prod"))] == [
        "prod-data-protected"
    ]
    assert violations(unprotected, environment_of("staging")) == []


def test_only_the_edge_proxy_role_may_publish_publicly() -> None:
    """The pack's public entrypoint is the role the edge component gives its reverse proxy."""
    assert set(PUBLIC_ENTRYPOINTS) == {PROXY_ROLE}


def test_every_exemption_names_something_prod_declares() -> None:
    """A stale allowlist entry would silently exempt whatever later takes its name."""
    prod = preview_of("prod")
    roles = {
        label["value"]
        for container in prod.of_type("docker:index/container:Container")
        for label in container.inputs["labels"]
        if label["label"] == "observability.role"
    }
    names = {resource.name for resource in prod.resources}

    assert {exemption.role for exemption in ELEVATED_CONTAINERS} <= roles
    assert set(DISPOSABLE_IN_PROD) <= names


@pytest.mark.parametrize("stack", STACKS)
def test_no_stack_output_holds_a_plain_text_secret(stack: str) -> None:
    """Exported outputs that carry secrets stay marked secret."""
    assert list(plaintext_secrets(preview_of(stack).outputs)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_canary_secrets_reach_resources_only_marked_secret(stack: str) -> None:
    """Every canary is masked in the inputs, and the detector would catch it if it were not."""
    preview = run_preview(stack, secrets=canaries())
    reached = 0

    for resource, raw_inputs in zip(declared(preview), preview.raw_inputs, strict=True):
        assert no_plaintext_secrets(resource, stack) == []

        # The same resource with every secret mark stripped, as a careless component would
        # declare it: the detector must flag each place a canary sits.
        unmarked = DeclaredResource(resource.type, resource.name, raw_inputs)
        flagged = {path for path, _ in plaintext_secrets(unmarked.inputs)}
        for canary in canaries().values():
            holding = set(paths_holding(raw_inputs, canary))
            reached += len(holding)
            assert holding <= flagged, f"{resource.name}: {canary} unflagged at {holding - flagged}"

    assert reached > 0, f"no canary reached any resource of {stack}"
