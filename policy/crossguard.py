"""The guardrails as CrossGuard policies: thin wrappers that hand the engine's view to them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_policy.policy as sdk_policy
from guardrails import (
    BUCKET_GUARDS,
    BUCKET_GUARDS_DESCRIPTION,
    BUCKETS,
    RESOURCE_RULES,
    SECRET_MARK,
    UNKNOWN_MARK,
    DeclaredResource,
    Rule,
    unguarded_buckets,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

PACK_NAME = "observability-guardrails"
ENVIRONMENT_KEY = "observability:environment"

_UNKNOWNS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def stack_environment() -> str:
    """The environment of the stack under analysis: its `observability:environment` setting."""
    configured = pulumi.runtime.get_config(ENVIRONMENT_KEY)
    return str(configured or os.environ.get("PULUMI_STACK", ""))


def declared(args: ResourceValidationArgs | PolicyResource) -> DeclaredResource:
    """The guardrails' view of a resource the engine hands to a policy."""
    return DeclaredResource(
        type=args.resource_type,
        name=args.name,
        inputs=_plain(args.props),
        protect=bool(args.opts.protect),
    )


def resource_policy(rule: Rule) -> ResourceValidationPolicy:
    """A mandatory CrossGuard policy that reports every message of one guardrail."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check(declared(args), stack_environment()):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def bucket_guards_policy() -> StackValidationPolicy:
    """A mandatory stack policy: every bucket has its access block, encryption and policy."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        # The engine records which resource each companion's `bucket` input came from, even
        # while the bucket's name is still unknown during a preview.
        bucket_of = {
            resource.name: dependency.name
            for resource in args.resources
            for dependency in resource.property_dependencies.get("bucket", [])
            if dependency.resource_type in BUCKETS
        }
        resources = [declared(resource) for resource in args.resources]
        for message in unguarded_buckets(resources, bucket_of):
            report_violation(message, None)

    return StackValidationPolicy(
        name=BUCKET_GUARDS,
        description=BUCKET_GUARDS_DESCRIPTION,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


POLICIES: list[sdk_policy.Policy] = [
    *(resource_policy(rule) for rule in RESOURCE_RULES),
    bucket_guards_policy(),
]
"""Every policy of the pack, one per guardrail."""


def keep_secret_marks() -> None:
    """Make the SDK hand policies each secret input as "[secret]" instead of its plain value.

    Limitation: pulumi-policy's Analyze unwraps secrets before any policy sees them, so a secret
    and a plain value look alike; this replaces its property decoding (pinned at 1.21) with one
    that keeps the engine's secret marks, as the offline preview does.
    """
    original = sdk_policy.deserialize_properties
    if getattr(original, "keeps_secret_marks", False):
        return

    def deserialize(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        if proxy_secrets:
            return original(props, True)
        return {key: _marked(value, original) for key, value in props.items()}

    deserialize.keeps_secret_marks = True  # type: ignore[attr-defined]
    sdk_policy.deserialize_properties = deserialize


def _marked(value: Any, original: Any) -> Any:
    if isinstance(value, str) and value in _UNKNOWNS:
        return UNKNOWN_MARK
    if isinstance(value, dict) and SPECIAL_SIG_KEY in value:
        if value[SPECIAL_SIG_KEY] == SPECIAL_SECRET_SIG:
            return SECRET_MARK
        return original({"asset": value})["asset"]
    if isinstance(value, dict):
        return {key: _marked(item, original) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item, original) for item in value]
    return value


def _plain(value: Any) -> Any:
    # The engine's proxies raise on unknown values; the guardrails read "[unknown]" instead.
    if isinstance(value, Mapping):
        return {key: _plain(_item(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(_item(value, index)) for index in range(len(value))]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError:
        return UNKNOWN_MARK
