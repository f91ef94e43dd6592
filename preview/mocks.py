"""What the mock engine answers where a real provider would compute an output.

Values are derived from the resource name only, so two previews are identical byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi

State = dict[str, Any]
Computed = Callable[[str, State], State]


def _random_password(name: str, inputs: State) -> State:
    return {"result": f"generated-password-of-{name}"}


def _random_string(name: str, inputs: State) -> State:
    # Letters and digits only, of the requested length, like the provider's default alphabet.
    digest = hashlib.sha256(name.encode()).hexdigest()
    length = int(inputs.get("length", 16))
    return {"result": (digest * (length // len(digest) + 1))[:length]}


def _pem(kind: str, name: str) -> str:
    # PEM framing around a digest of the name: recognisable, stable, and no key material.
    body = hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def _tls_private_key(name: str, inputs: State) -> State:
    return {"privateKeyPem": _pem("PRIVATE KEY", name), "publicKeyPem": _pem("PUBLIC KEY", name)}


def _tls_cert_request(name: str, inputs: State) -> State:
    return {"certRequestPem": _pem("CERTIFICATE REQUEST", name)}


def _origin_ca_certificate(name: str, inputs: State) -> State:
    return {"certificate": _pem("CERTIFICATE", name), "expiresOn": "2041-11-27T00:00:00Z"}


def _aws_arn(name: str, inputs: State) -> State:
    return {"arn": f"arn:aws:mock:::{name}"}


PREVIEW_ACCOUNT_ID = "123456789012"
"""The AWS account the preview pretends to run in."""


def _kms_key(name: str, inputs: State) -> State:
    # A key id shaped like KMS's UUIDs, in the key's own region, so policies read as real ones.
    digest = hashlib.sha256(name.encode()).hexdigest()
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    region = inputs.get("region") or pulumi.Config("aws").get("region") or "us-east-1"
    return {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{PREVIEW_ACCOUNT_ID}:key/{key_id}"}


def _access_key(name: str, inputs: State) -> State:
    return {"secret": f"preview-secret-access-key-of-{name}"}


def _caller_identity(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "accountId": PREVIEW_ACCOUNT_ID,
        "arn": f"arn:aws:iam::{PREVIEW_ACCOUNT_ID}:user/preview",
        "id": PREVIEW_ACCOUNT_ID,
        "userId": "AIDAPREVIEW",
    }


COMPUTED_OUTPUTS: dict[str, Computed] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomString:RandomString": _random_string,
    "tls:index/privateKey:PrivateKey": _tls_private_key,
    "tls:index/certRequest:CertRequest": _tls_cert_request,
    "cloudflare:index/originCaCertificate:OriginCaCertificate": _origin_ca_certificate,
    "aws:kms/key:Key": _kms_key,
    "aws:iam/accessKey:AccessKey": _access_key,
}
"""Outputs a provider computes, by type token; resources not listed echo their inputs."""


def _secret_version(args: dict[str, Any]) -> dict[str, Any]:
    # Secrets Manager cannot be read offline; a key pair of the shape Loki's secret holds
    # stands in, its values plainly placeholders.
    secret_id = str(args.get("secretId", ""))
    pair = {"access_key_id": "preview-access-key-id", "secret_access_key": "preview-secret-key"}
    return {
        "arn": f"arn:aws:secretsmanager:us-east-1:{PREVIEW_ACCOUNT_ID}:secret:{secret_id}",
        "id": secret_id,
        "secretId": secret_id,
        "secretString": json.dumps(pair, sort_keys=True),
        "versionId": "preview",
        "versionStages": ["AWSCURRENT"],
    }


CALL_RESULTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:secretsmanager/getSecretVersion:getSecretVersion": _secret_version,
}
"""Results of provider functions (invokes), by token."""


class PreviewMocks(pulumi.runtime.Mocks):
    """Echo inputs as state, add computed outputs, give every resource a stable id."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, State]:
        state = dict(args.inputs)
        if args.typ.startswith("aws:"):
            state.update(_aws_arn(args.name, state))
        computed = COMPUTED_OUTPUTS.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        result = CALL_RESULTS.get(args.token)
        if result is None:
            raise NotImplementedError(f"the offline preview has no answer for {args.token}")
        # The engine iterates the failures, so none is an empty list, never None.
        return result(dict(args.args)), []
