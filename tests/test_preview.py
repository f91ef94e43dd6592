"""The offline preview: the real program, the stack's own file, masked secrets, stable output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError
from preview import run_preview
from preview.harness import ROOT, SECRET_MARK
from tests.conftest import preview_of

CANARIES = {
    "slack_webhook_url": "https://hooks.slack.com/services/CANARY-SLACK-7f3a",
    "pagerduty_routing_key": "CANARY-PAGERDUTY-91c2",
    "smtp_password": "CANARY-SMTP-0b5e",
}


def test_the_harness_reads_the_stack_file_the_mock_engine_ignores() -> None:
    """Values that only Pulumi.staging.yaml sets reach the program."""
    prometheus = preview_of("staging").named("metrics-prometheus")

    assert "--storage.tsdb.retention.time=7d" in prometheus.inputs["command"]
    assert prometheus.inputs["memory"] == 512


def test_a_missing_required_key_fails_naming_that_key() -> None:
    """Dropping `observability:domain` from the stack file stops the run with its name."""
    with pytest.raises(ConfigError, match=r"observability:domain is required"):
        run_preview("staging", remove=("domain",))


def test_a_misspelled_key_in_the_stack_file_is_an_error() -> None:
    """An unknown `observability:` key is reported instead of silently ignored."""
    with pytest.raises(ConfigError, match=r"observability:retention is not a known setting"):
        run_preview("staging", overrides={"retention": "30d"})


def test_a_false_assertion_inside_apply_fails_the_run(tmp_path: Path) -> None:
    """An apply nobody awaits still runs to completion, so its assertion error surfaces."""
    program = tmp_path / "program.py"
    program.write_text(
        "import pulumi\n"
        "def check(value):\n"
        "    assert value == 2, f'expected 2, got {value}'\n"
        "pulumi.Output.from_input(1).apply(check)\n"
    )

    with pytest.raises(AssertionError, match="expected 2, got 1"):
        run_preview("staging", program=program)


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_two_previews_of_a_stack_are_identical(stack: str) -> None:
    """Same input, same manifest and files, byte for byte."""
    first, second = run_preview(stack), run_preview(stack)

    assert first.manifest() == second.manifest()
    assert first.files() == second.files()


def test_the_manifest_is_sorted_by_type_then_name_with_the_documented_fields() -> None:
    """resources.json is an array of {type, name, parent, inputs, protect, retainOnDelete}."""
    entries = json.loads(preview_of("prod").manifest())

    assert [(e["type"], e["name"]) for e in entries] == sorted(
        (e["type"], e["name"]) for e in entries
    )
    for entry in entries:
        assert set(entry) == {"type", "name", "parent", "inputs", "protect", "retainOnDelete"}


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_secret_value_appears_in_any_input_file_or_output(stack: str) -> None:
    """Canary secrets are masked everywhere the preview writes, yet really reach the engine."""
    preview = run_preview(stack, secrets=CANARIES)
    written = preview.manifest() + "".join(preview.files().values()) + json.dumps(preview.outputs)

    for canary in CANARIES.values():
        assert canary not in written
    assert CANARIES["slack_webhook_url"] in set(preview.walk_strings())
    assert SECRET_MARK in written


def test_pulumi_up_without_a_secret_names_the_command_that_sets_it() -> None:
    """Outside a preview a missing secret is an error with the exact command."""
    expected = (
        r"observability:slack_webhook_url is required and not set; run: pulumi config set "
        r"--secret observability:slack_webhook_url <value> --stack staging"
    )
    with pytest.raises(ConfigError, match=expected):
        run_preview("staging", dry_run=False)


def test_a_preview_without_a_secret_uses_a_masked_placeholder() -> None:
    """The preview still renders, with the secret file present and masked."""
    files = preview_of("staging").files()

    assert files[("staging-alertmanager", "/etc/alertmanager/secrets/slack_webhook_url")] == (
        SECRET_MARK
    )


def test_make_preview_writes_the_manifest_and_every_container_file(tmp_path: Path) -> None:
    """`python -m preview prod` writes resources.json and files/<container>/<path>."""
    result = subprocess.run(
        [sys.executable, "-m", "preview", "prod", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    out = tmp_path / "prod"
    assert json.loads((out / "resources.json").read_text())
    for container, path in preview_of("prod").files():
        assert (out / "files" / container / path.lstrip("/")).is_file()
    assert "stack prod:" in result.stdout
    assert "metrics" in result.stdout


def test_a_stack_file_that_is_not_yaml_is_named_in_the_error(tmp_path: Path) -> None:
    """A syntax error in Pulumi.<stack>.yaml names the file, not a Python string."""
    from preview.harness import stack_config

    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  observability:domain: [oops\n")

    with pytest.raises(ConfigError, match=r"Pulumi.broken.yaml is not valid YAML"):
        stack_config("broken", root=tmp_path)
