"""What the mock engine answers where a real provider would compute an output.

Values are derived from the resource name only, so two previews are identical byte for byte.
"""

from __future__ import annotations

import hashlib
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


def _aws_arn(name: str, inputs: State) -> State:
    return {"arn": f"arn:aws:mock:::{name}"}


COMPUTED_OUTPUTS: dict[str, Computed] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomString:RandomString": _random_string,
}
"""Outputs a provider computes, by type token; resources not listed echo their inputs."""

CALL_RESULTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
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

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        result = CALL_RESULTS.get(args.token)
        if result is None:
            raise NotImplementedError(f"the offline preview has no answer for {args.token}")
        return result(dict(args.args)), None
