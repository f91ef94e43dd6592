"""The security invariants every resource of every stack keeps, as pure functions.

Each rule reads one resource as the engine sees it (type token, inputs in camelCase with secrets
masked as "[secret]" and unknowns as "[unknown]", its options) plus the stack's environment, and
returns one message per violation. The CrossGuard pack and the test suite both call these
functions, so what CI enforces and what the tests prove are the same code.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SECRET_MARK = "[secret]"
UNKNOWN_MARK = "[unknown]"
PROD = "prod"

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"


@dataclass(frozen=True)
class DeclaredResource:
    """One resource as the engine receives it from the program."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool | None = None
    """None where the engine does not tell (CrossGuard sees no retainOnDelete option)."""


@dataclass(frozen=True)
class Exemption:
    """Host-level powers one container role may hold, and why it needs them."""

    role: str
    grants: frozenset[str]
    reason: str


ELEVATED_CONTAINERS: tuple[Exemption, ...] = (
    Exemption(
        role="cadvisor",
        grants=frozenset({"privileged"}),
        reason="reads every cgroup and /dev/kmsg; unprivileged it misses container metrics on "
        "cgroup v2 hosts",
    ),
    Exemption(
        role="node-exporter",
        grants=frozenset({"host network", "host PID namespace"}),
        reason="reports the host itself, not its container; it listens only on the host's "
        "address on the stack network",
    ),
)
"""The only containers allowed powers beyond Docker's defaults; add an entry with its reason."""

PUBLIC_ENTRYPOINTS: Mapping[str, frozenset[int]] = {"edge-proxy": frozenset({80, 443})}
"""Roles that may publish on a public interface, and the host ports they may publish there."""

RESTART_POLICIES = frozenset({"always", "unless-stopped", "on-failure"})

# Docker's default capability set: adding one of these grants nothing new.
_DEFAULT_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

_PROTECTED_IN_PROD: Mapping[str, str] = {
    VOLUME: "data volume",
    **dict.fromkeys(BUCKETS, "bucket"),
    KMS_KEY: "encryption key",
    SECRET: "secret",
    RANDOM_PASSWORD: "generated password",
    PRIVATE_KEY: "private key",
}
"""Prod resources whose loss loses data or credentials, so they carry `protect`.

A SecretVersion is left out: a new value replaces it, which `protect` would block; its Secret,
protected and with a recovery window, keeps the history.
"""

DISPOSABLE_IN_PROD: Mapping[str, str] = {
    "backups-dumps": "holds only the latest database dump, rewritten before every archive; "
    "the archives in the backup bucket are what is kept",
}
"""Prod stores that may be lost, by resource name, each with why losing it loses nothing."""

_RETAINED_IN_PROD = frozenset({VOLUME, *BUCKETS, KMS_KEY, SECRET})
"""Prod resources that hold data outside Pulumi's state, so they also survive a delete."""

_ENCRYPTION_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse", "AES256"})
_PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
_PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)

# Secret-looking content, recognised wherever it appears unless the value is marked secret.
_SECRET_CONTENT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    (
        "a Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
    ),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    (
        "an AWS secret access key",
        re.compile(
            r"(?i)secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
        ),
    ),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})")),
    ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:[^\s/@'\"]+@")),
)

# Words that make an input's name say it holds a secret ...
_SECRET_WORDS = frozenset(
    {
        "apikey",
        "credential",
        "credentials",
        "dsn",
        "passphrase",
        "passwd",
        "password",
        "secret",
        "token",
        "webhook",
    }
)
# ... unless the name ends by saying it only points at one (a file, an id, an ARN ...).
_REFERENCE_WORDS = frozenset(
    {
        "algorithm",
        "arn",
        "arns",
        "bits",
        "count",
        "days",
        "dir",
        "enabled",
        "file",
        "format",
        "id",
        "ids",
        "length",
        "name",
        "names",
        "path",
        "policy",
        "ref",
        "rotation",
        "spec",
        "stage",
        "stages",
        "type",
        "usage",
        "version",
        "window",
    }
)
# A database URL or connection string carries the password it connects with.
_CONNECTION_WORDS = frozenset({"connection", "database", "db"})
# `<word> key` names a secret (api key, routing key, private key) except for these words.
_NON_SECRET_KEYS = frozenset(
    {"bucket", "cache", "hash", "kms", "label", "master", "object", "partition", "primary"}
    | {"public", "range", "sort", "tag"}
)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


Check = Callable[[DeclaredResource, str], list[str]]


@dataclass(frozen=True)
class Rule:
    """One invariant: the CrossGuard policy name, what it demands, and its check."""

    name: str
    description: str
    check: Check


def container_has_memory_limit(resource: DeclaredResource, environment: str) -> list[str]:
    """A container declares a memory limit, so one runaway process cannot starve the host."""
    if resource.type != CONTAINER:
        return []
    memory = resource.inputs.get("memory")
    if memory == UNKNOWN_MARK or (isinstance(memory, (int, float)) and memory > 0):
        return []
    return [f"container {resource.name} has no memory limit; set ContainerSpec.memory_mb"]


def container_has_health_check(resource: DeclaredResource, environment: str) -> list[str]:
    """A container declares a health check, so Docker and the alerts know when it is stuck."""
    if resource.type != CONTAINER:
        return []
    tests = (resource.inputs.get("healthcheck") or {}).get("tests") or []
    if tests and tests[0] != "NONE":
        return []
    return [f"container {resource.name} has no health check; set ContainerSpec.healthcheck"]


def container_restarts(resource: DeclaredResource, environment: str) -> list[str]:
    """A container comes back after a crash or a host reboot."""
    if resource.type != CONTAINER:
        return []
    restart = resource.inputs.get("restart", "no")
    if restart in RESTART_POLICIES or restart == UNKNOWN_MARK:
        return []
    return [
        f"container {resource.name} has restart policy {restart!r}; "
        f"use one of {', '.join(sorted(RESTART_POLICIES))}"
    ]


def container_not_elevated(resource: DeclaredResource, environment: str) -> list[str]:
    """A container holds no power beyond Docker's defaults unless its role is exempted."""
    if resource.type != CONTAINER:
        return []
    allowed = {grant for exemption in _exemptions(_role(resource)) for grant in exemption.grants}
    return [
        f"container {resource.name} has {grant}; only roles listed in ELEVATED_CONTAINERS "
        f"(policy/guardrails.py) with a reason may"
        for grant in _elevated_grants(resource.inputs)
        if grant not in allowed
    ]


def no_public_ports(resource: DeclaredResource, environment: str) -> list[str]:
    """Only the reverse proxy publishes a port on a public interface, and only 80 and 443."""
    if resource.type != CONTAINER:
        return []
    allowed = PUBLIC_ENTRYPOINTS.get(_role(resource) or "", frozenset())
    problems = []
    for port in resource.inputs.get("ports") or []:
        address = port.get("ip") or "0.0.0.0"
        external = port.get("external", port.get("internal"))
        if _is_public(address) and external not in allowed:
            problems.append(
                f"container {resource.name} publishes port {external} on {address}; only "
                f"the reverse proxy may listen on a public interface (ports 80 and 443)"
            )
    return problems


def bucket_is_private(resource: DeclaredResource, environment: str) -> list[str]:
    """A bucket blocks every form of public access and grants nothing to everyone."""
    inputs = resource.inputs
    if resource.type == PUBLIC_ACCESS_BLOCK:
        off = [
            flag for flag in _PUBLIC_ACCESS_FLAGS if inputs.get(flag) not in (True, UNKNOWN_MARK)
        ]
        if off:
            return [f"public access block {resource.name} leaves {', '.join(off)} off"]
    if resource.type in (*BUCKETS, *BUCKET_ACLS):
        acl = inputs.get("acl")
        if acl not in (None, "private", UNKNOWN_MARK):
            return [f"{resource.name} sets the canned ACL {acl!r}; buckets stay private"]
        grants = (inputs.get("accessControlPolicy") or {}).get("grants") or []
        if any((grant.get("grantee") or {}).get("uri") in _PUBLIC_GRANTEES for grant in grants):
            return [f"{resource.name} grants access to all users; buckets stay private"]
    if resource.type == BUCKET_POLICY:
        document = _policy_document(inputs.get("policy"))
        if document is not None and any(
            statement.get("Effect") == "Allow" and _everyone(statement.get("Principal"))
            for statement in _statements(document)
        ):
            return [f"bucket policy {resource.name} allows access to everyone"]
    return []


def bucket_is_encrypted(resource: DeclaredResource, environment: str) -> list[str]:
    """A bucket encrypts every object at rest by default."""
    if resource.type not in BUCKET_ENCRYPTION:
        return []
    rules = resource.inputs.get("rules") or []
    algorithms = [
        (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in rules
    ]
    if algorithms and all(a in _ENCRYPTION_ALGORITHMS or a == UNKNOWN_MARK for a in algorithms):
        return []
    return [
        f"encryption configuration {resource.name} does not encrypt by default with aws:kms "
        f"or AES256 (got {algorithms})"
    ]


def bucket_is_tls_only(resource: DeclaredResource, environment: str) -> list[str]:
    """A bucket policy denies every request that does not arrive over TLS."""
    if resource.type != BUCKET_POLICY:
        return []
    document = _policy_document(resource.inputs.get("policy"))
    if document is None or any(_denies_plain_http(s) for s in _statements(document)):
        return []
    return [
        f"bucket policy {resource.name} does not deny requests without TLS "
        f'(a Deny of s3:* to "*" when aws:SecureTransport is false)'
    ]


def prod_data_is_protected(resource: DeclaredResource, environment: str) -> list[str]:
    """In prod, data and secrets survive a mistaken delete, rename or `pulumi destroy`."""
    kind = _PROTECTED_IN_PROD.get(resource.type)
    if environment != PROD or kind is None or resource.name in DISPOSABLE_IN_PROD:
        return []
    problems = []
    if not resource.protect:
        problems.append(f"prod {kind} {resource.name} is not protected (protect=True)")
    if resource.type in _RETAINED_IN_PROD and resource.retain_on_delete is False:
        problems.append(f"prod {kind} {resource.name} is not retained on delete")
    if resource.type in BUCKETS and resource.inputs.get("forceDestroy") is True:
        problems.append(f"prod bucket {resource.name} sets forceDestroy, which empties it")
    if resource.type == SECRET and resource.inputs.get("recoveryWindowInDays") == 0:
        problems.append(f"prod secret {resource.name} has no recovery window")
    return problems


def no_plaintext_secrets(resource: DeclaredResource, environment: str) -> list[str]:
    """No input holds a secret-looking value that is not marked secret."""
    return [
        f"{resource.name} has {what} in plain text at {path}; pass it as a secret Output"
        for path, what in plaintext_secrets(resource.inputs)
    ]


RESOURCE_RULES: tuple[Rule, ...] = (
    Rule(
        "container-memory-limit", "Containers declare a memory limit.", container_has_memory_limit
    ),
    Rule(
        "container-health-check", "Containers declare a health check.", container_has_health_check
    ),
    Rule(
        "container-restart-policy",
        "Containers restart after a crash or a reboot.",
        container_restarts,
    ),
    Rule(
        "container-not-privileged",
        "Containers hold no privileges, host namespaces or extra capabilities unless exempted.",
        container_not_elevated,
    ),
    Rule(
        "no-public-ports",
        "Only the reverse proxy publishes ports on a public interface.",
        no_public_ports,
    ),
    Rule("bucket-private", "S3 buckets allow no public access.", bucket_is_private),
    Rule("bucket-encrypted", "S3 buckets encrypt objects at rest.", bucket_is_encrypted),
    Rule("bucket-tls-only", "S3 buckets refuse requests without TLS.", bucket_is_tls_only),
    Rule(
        "prod-data-protected",
        "Prod data and secrets are protected from deletion.",
        prod_data_is_protected,
    ),
    Rule(
        "no-plaintext-secrets",
        "No input holds a secret that is not marked secret.",
        no_plaintext_secrets,
    ),
)
"""Every per-resource invariant, in the order the pack reports them."""

BUCKET_GUARDS = "bucket-guards"
BUCKET_GUARDS_DESCRIPTION = (
    "Every S3 bucket has a public access block, default encryption and a TLS-only policy."
)


def violations(resource: DeclaredResource, environment: str) -> list[tuple[str, str]]:
    """Every (rule name, message) one resource breaks."""
    return [
        (rule.name, message)
        for rule in RESOURCE_RULES
        for message in rule.check(resource, environment)
    ]


def unguarded_buckets(
    resources: Sequence[DeclaredResource], bucket_of: Mapping[str, str]
) -> list[str]:
    """Buckets lacking a public access block, an encryption configuration or a bucket policy.

    `bucket_of` maps each companion resource's name to the bucket it applies to.
    """
    guards: dict[str, set[str]] = {}
    for resource in resources:
        guarded = bucket_of.get(resource.name)
        if guarded is not None:
            guards.setdefault(guarded, set()).add(resource.type)

    required = (
        ((PUBLIC_ACCESS_BLOCK,), "public access block"),
        (BUCKET_ENCRYPTION, "default encryption configuration"),
        ((BUCKET_POLICY,), "TLS-only bucket policy"),
    )
    problems = []
    for bucket in (resource for resource in resources if resource.type in BUCKETS):
        present = guards.get(bucket.name, set())
        for types, what in required:
            if not present.intersection(types):
                problems.append(f"bucket {bucket.name} has no {what}")
    return problems


def plaintext_secrets(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, what) of every secret-looking string in `value` that is not marked secret."""
    for where, name, text in _strings(value, path, ""):
        if text in (SECRET_MARK, UNKNOWN_MARK, ""):
            continue
        found = next((what for what, pattern in _SECRET_CONTENT if pattern.search(text)), None)
        if found is None and _names_a_secret(name) and not _is_reference(text):
            found = f"a value named {name!r}"
        if found is not None:
            yield where or "(value)", found


def _strings(value: Any, path: str, name: str) -> Iterator[tuple[str, str, str]]:
    """(path, the name the value goes by, text) of every string inside `value`."""
    if isinstance(value, str):
        env_name, separator, env_value = value.partition("=")
        if name == "envs" and separator:
            yield path, env_name, env_value
        else:
            yield path, name, value
    elif isinstance(value, Mapping):
        # An uploaded file's content goes by the file's name; a label's value by the label.
        label = _entry_name(value)
        for key, item in value.items():
            item_name = label if label and key in ("content", "contentBase64", "value") else key
            yield from _strings(item, f"{path}.{key}" if path else key, item_name)
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", name)


def _entry_name(entry: Mapping[str, Any]) -> str | None:
    file = entry.get("file")
    if isinstance(file, str):
        return file.rsplit("/", 1)[-1].split(".", 1)[0]
    label = entry.get("label", entry.get("key"))
    return label if isinstance(label, str) else None


def _names_a_secret(name: str) -> bool:
    words = [word.lower() for word in _NAME_PARTS.findall(name)]
    if not words or words[-1] in _REFERENCE_WORDS:
        return False
    if any(word in _SECRET_WORDS for word in words):
        return True
    if words[-1] in ("url", "uri", "string") and _CONNECTION_WORDS.intersection(words):
        return True
    return len(words) >= 2 and words[-1] == "key" and words[-2] not in _NON_SECRET_KEYS


def _is_reference(text: str) -> bool:
    return text.startswith(("/", "arn:", "$__file{", "${")) or text in ("true", "false")


def _role(resource: DeclaredResource) -> str | None:
    for label in resource.inputs.get("labels") or []:
        if label.get("label") == "observability.role":
            return str(label.get("value"))
    return None


def _exemptions(role: str | None) -> list[Exemption]:
    return [exemption for exemption in ELEVATED_CONTAINERS if exemption.role == role]


def _elevated_grants(inputs: Mapping[str, Any]) -> list[str]:
    grants = []
    if inputs.get("privileged") is True:
        grants.append("privileged")
    for key, grant in (
        ("networkMode", "host network"),
        ("pidMode", "host PID namespace"),
        ("ipcMode", "host IPC namespace"),
        ("usernsMode", "host user namespace"),
    ):
        if inputs.get(key) == "host":
            grants.append(grant)
    added = (inputs.get("capabilities") or {}).get("adds") or []
    for capability in added:
        name = str(capability).upper().removeprefix("CAP_")
        if name not in _DEFAULT_CAPABILITIES:
            grants.append(f"capability {name}")
    return grants


def _is_public(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address != UNKNOWN_MARK
    return parsed.is_unspecified or parsed.is_global


def _policy_document(policy: Any) -> Mapping[str, Any] | None:
    if isinstance(policy, Mapping):
        return policy
    if not isinstance(policy, str) or policy in (SECRET_MARK, UNKNOWN_MARK):
        return None
    try:
        document = json.loads(policy)
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, Mapping) else {}


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement") or []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS"))


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    actions = _as_list(statement.get("Action"))
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    secure = [str(value).lower() for value in _as_list(condition.get("aws:SecureTransport"))]
    return (
        statement.get("Effect") == "Deny"
        and _everyone(statement.get("Principal"))
        and ("s3:*" in actions or "*" in actions)
        and secure == ["false"]
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
