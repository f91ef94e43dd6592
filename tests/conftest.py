"""Shared fixtures: one cached offline preview per stack, and the real tools' locations."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from preview import Preview, run_preview

STACKS = ("prod", "staging", "local")
DEPLOYED_STACKS = ("prod", "staging")


@functools.cache
def preview_of(stack: str) -> Preview:
    """The preview of a stack from its own Pulumi.<stack>.yaml, computed once per test session."""
    return run_preview(stack)


@pytest.fixture(params=DEPLOYED_STACKS)
def deployed_stack(request: pytest.FixtureRequest) -> str:
    """Each stack that runs on a real host: prod and staging."""
    return str(request.param)


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> str:
    """Every stack, local included."""
    return str(request.param)


def real_tool(name: str) -> str:
    """The path of a validator that CI installs; a missing one is an error, never a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run .ci/install-tools (CI does)")
    return path


def write_files(preview: Preview, container: str, root: Path) -> Path:
    """Write every file one container receives under `root`, keeping absolute paths."""
    for (owner, path), content in preview.files().items():
        if owner == container:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    return root
