"""What each stack asks of its Docker host stays within the budget."""

from __future__ import annotations

import pytest

from bench.footprint import GOAL_MEMORY_MIB
from tests.conftest import preview_of


@pytest.mark.parametrize("stack", sorted(GOAL_MEMORY_MIB))
def test_the_containers_memory_limits_fit_the_stacks_budget(stack: str) -> None:
    """Staging stays under 3 GiB and prod under 4 GiB, counting every container."""
    containers = preview_of(stack).of_type("docker:index/container:Container")

    total = sum(container.inputs["memory"] for container in containers)

    assert total < GOAL_MEMORY_MIB[stack], f"{stack} asks for {total} MiB"
