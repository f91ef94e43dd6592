"""The README stays true: its settings table is the one the models generate."""

from __future__ import annotations

from config.reference import with_table
from preview.harness import ROOT


def test_the_readme_lists_every_setting_with_its_default() -> None:
    """`make reference` has been run since the settings last changed."""
    readme = (ROOT / "README.md").read_text()

    assert with_table(readme) == readme, "the settings table is stale: run `make reference`"


def test_the_readme_gives_the_two_commands() -> None:
    """A new user finds the test and preview commands."""
    readme = (ROOT / "README.md").read_text()

    assert "make test" in readme
    assert "make preview STACK=staging" in readme
