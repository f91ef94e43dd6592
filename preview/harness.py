"""Run `__main__.py` for one stack under the mock engine and record what it declares."""

from __future__ import annotations

import asyncio
import contextvars
import json
import runpy
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func

from config.settings import (
    NAMESPACE,
    ConfigError,
    Settings,
    parse_config_value,
    settings_from_config,
)
from preview.mocks import PreviewMocks

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "observability"
SECRET_MARK = "[secret]"
PREVIEW_SECRET = "preview-placeholder"

# The wire format marks secrets and unknowns with these signature values.
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Resource:
    """One resource as the engine receives it from the program."""

    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool

    def manifest_entry(self) -> dict[str, Any]:
        """The entry of this resource in `resources.json`."""
        return {
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": self.inputs,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
        }


@dataclass(frozen=True)
class Preview:
    """Everything one run of the program declared, with secrets already masked."""

    stack: str
    resources: tuple[Resource, ...]
    outputs: dict[str, Any]
    raw_inputs: tuple[dict[str, Any], ...]

    def of_type(self, type_token: str) -> list[Resource]:
        """Resources of one type token, in manifest order."""
        return [resource for resource in self.resources if resource.type == type_token]

    def named(self, name: str) -> Resource:
        """The one resource with this name."""
        matches = [resource for resource in self.resources if resource.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources are named {name!r}")
        return matches[0]

    def children_of(self, parent: str) -> list[Resource]:
        """Resources whose parent is the named resource."""
        return [resource for resource in self.resources if resource.parent == parent]

    def manifest(self) -> str:
        """`resources.json`: sorted by type then name, stable byte for byte."""
        entries = [resource.manifest_entry() for resource in self.resources]
        return json.dumps(entries, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def files(self) -> dict[tuple[str, str], str]:
        """Every file a container receives, keyed by (container name, absolute path)."""
        received: dict[tuple[str, str], str] = {}
        for container in self.of_type("docker:index/container:Container"):
            for upload in container.inputs.get("uploads", []):
                received[(container.inputs["name"], upload["file"])] = upload.get("content", "")
        return dict(sorted(received.items()))

    def file(self, container: str, path: str) -> str:
        """The content of one file a container receives."""
        return self.files()[(container, path)]

    def walk_strings(self) -> Iterator[str]:
        """Every string value the engine received, secrets unmasked (for leak tests)."""
        yield from _strings(list(self.raw_inputs))


def stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """A stack's config as the Pulumi CLI would hand it to the program, and its secret keys.

    The mock engine never reads `Pulumi.<stack>.yaml`, so this does. Encrypted values cannot
    be decrypted here; they become placeholders that stay secret.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; known stacks: {known_stacks(root)}")

    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name} is not valid YAML: {error}") from None
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = f"{PREVIEW_SECRET}-{full_key.split(':', 1)[1]}"
            secret_keys.append(full_key)
        elif isinstance(value, str):
            config[full_key] = value
        else:
            config[full_key] = json.dumps(value)
    return config, secret_keys


def stack_values(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """A stack's `observability:` values by key, parsed as the program parses them."""
    config, _ = stack_config(stack, root)
    return _observability_values(config)


def stack_settings(
    stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT
) -> Settings:
    """A stack's settings from its stack file, validated as the program validates them.

    `overrides` replaces whole `observability:` keys (section name to value).
    """
    config, _ = stack_config(stack, root)
    values = {**_observability_values(config), **(overrides or {})}
    return settings_from_config(stack, values, config.get("aws:region"))


def _observability_values(config: Mapping[str, str]) -> dict[str, Any]:
    prefix = f"{NAMESPACE}:"
    return {
        key.removeprefix(prefix): parse_config_value(raw)
        for key, raw in config.items()
        if key.startswith(prefix)
    }


def known_stacks(root: Path = ROOT) -> list[str]:
    """The stacks that have a `Pulumi.<stack>.yaml`."""
    return sorted(path.name.split(".")[1] for path in root.glob("Pulumi.*.yaml"))


def run_preview(
    stack: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    remove: tuple[str, ...] = (),
    dry_run: bool = True,
    program: Path = ROOT / "__main__.py",
) -> Preview:
    """Run the program for `stack` and return what it declared.

    `overrides` replaces `observability:` keys (section name to value), `secrets` sets secret
    keys, `remove` drops keys from the stack file; `dry_run=False` behaves like `pulumi up`.
    """
    config, secret_keys = stack_config(stack)
    for key in remove:
        config.pop(f"{PROJECT}:{key}", None)
    for key, value in (overrides or {}).items():
        config[f"{PROJECT}:{key}"] = value if isinstance(value, str) else json.dumps(value)
    for key, value in (secrets or {}).items():
        config[f"{PROJECT}:{key}"] = value
        secret_keys.append(f"{PROJECT}:{key}")

    # Pulumi keeps its runtime state in context variables: a fresh context isolates each run.
    with _LOCK:
        return contextvars.Context().run(
            _run, stack, config, sorted(set(secret_keys)), dry_run, program
        )


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: list[Any] = []
        self.thread_loops: list[asyncio.AbstractEventLoop] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        # The SDK calls this from executor threads and gives each an event loop it never closes;
        # making that loop here lets the run close it instead of the garbage collector at exit.
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            thread_loop = asyncio.new_event_loop()
            asyncio.set_event_loop(thread_loop)
            self.thread_loops.append(thread_loop)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.requests.append(request)
        return response


def _run(
    stack: str, config: dict[str, str], secret_keys: list[str], dry_run: bool, program: Path
) -> Preview:
    monitor = _RecordingMonitor(PreviewMocks())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=dry_run, monitor=monitor
        )
        set_all_config(config, secret_keys)
        loop.run_until_complete(run_pulumi_func(lambda: _run_program(program)))
        outputs = _stack_outputs(loop)
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        for thread_loop in monitor.thread_loops:
            thread_loop.close()
        asyncio.set_event_loop(None)

    return _preview(stack, monitor.requests, outputs)


def _run_program(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def _stack_outputs(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in sorted(exported.items()):
        output = pulumi.Output.from_input(value)
        is_secret = loop.run_until_complete(output.is_secret())
        resolved[key] = SECRET_MARK if is_secret else loop.run_until_complete(output.future())
    return resolved


def _preview(stack: str, requests: list[Any], outputs: dict[str, Any]) -> Preview:
    raw: list[dict[str, Any]] = []
    resources = []
    for request in requests:
        inputs = _normalise(json_format.MessageToDict(request.object))
        raw.append(_unwrap_secrets(inputs))
        resources.append(
            Resource(
                type=request.type,
                name=request.name,
                parent=_parent_name(request.parent),
                inputs=_mask_secrets(inputs),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
    order = sorted(range(len(resources)), key=lambda i: (resources[i].type, resources[i].name))
    return Preview(
        stack=stack,
        resources=tuple(resources[i] for i in order),
        outputs=outputs,
        raw_inputs=tuple(raw[i] for i in order),
    )


def _parent_name(parent_urn: str) -> str | None:
    # A URN ends in `::<name>`; resources directly under the stack have no parent of ours.
    if not parent_urn or "::pulumi:pulumi:Stack::" in parent_urn:
        return None
    return parent_urn.rsplit("::", 1)[-1]


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIG) == _SECRET_SIG


def _mask_secrets(value: Any) -> Any:
    if _is_secret(value):
        return SECRET_MARK
    if isinstance(value, dict):
        return {key: _mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(item) for item in value]
    return value


def _unwrap_secrets(value: Any) -> Any:
    if _is_secret(value):
        return _unwrap_secrets(value.get("value"))
    if isinstance(value, dict):
        return {key: _unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(item) for item in value]
    return value


def _normalise(value: Any) -> Any:
    # The wire format carries every number as a double; whole numbers read better as integers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if value == _UNKNOWN:
        return "[unknown]"
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
