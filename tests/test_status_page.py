"""StatusPage in the preview: Uptime Kuma, AutoKuma, their volumes, secrets and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.containers import RESTART_POLICY
from components.images import image
from components.status_page import render_autokuma
from components.status_page.autokuma_schema import ENTITY, ENV_TEMPLATE, PUSH_TOKEN
from preview import Preview, run_preview
from preview.harness import stack_settings, stack_values
from tests.conftest import preview_of

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
COMPONENT = "status-page"
SLACK_SECRET = "https://hooks.slack.com/services/T000/B000/leak-check-slack"
SMTP_SECRET = "leak-check-smtp-password"

# A program that also exports what __main__.py hands to the backup job.
PUSH_PROGRAM = """
import pulumi
from components.network import StackNetwork
from components.status_page import StatusPage
from config import load_settings
from config.secrets import read_stack_secrets

settings = load_settings()
network = StackNetwork("network", stack=settings.stack, subnet=str(settings.ports.subnet),
                       gateway=settings.ports.gateway)
page = StatusPage("status-page", settings=settings, secrets=read_stack_secrets(settings),
                  network=network.network_name)
pulumi.export("backup_push_url", page.backup_push_url)
pulumi.export("backup_push_token", page.backup_push_token)
"""


def raw_inputs(preview: Preview, name: str) -> dict[str, Any]:
    """A resource's inputs with secrets unmasked."""
    names = [resource.name for resource in preview.resources]
    return preview.raw_inputs[names.index(name)]


def autokuma_files(preview: Preview) -> dict[str, dict[str, Any]]:
    """The entity files of the AutoKuma container, parsed, by AutoKuma id."""
    container = preview.named(f"{COMPONENT}-autokuma").inputs["name"]
    return {
        path.rsplit("/", 1)[1].removesuffix(".json"): json.loads(content)
        for (owner, path), content in preview.files().items()
        if owner == container and path.startswith(render_autokuma.STATIC_MONITORS_DIR)
    }


def env_map(entries: list[str]) -> dict[str, str]:
    """`KEY=value` entries as a mapping."""
    return dict(entry.split("=", 1) for entry in entries)


def stack_services(stack: str) -> list[str]:
    """The monitored service names in a stack file."""
    return [service["name"] for service in stack_values(stack)["services"]]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_preview_shows_uptime_kuma_autokuma_and_one_monitor_per_service(stack: str) -> None:
    """Both containers run their pinned images, and each service has its HTTP monitor."""
    preview = preview_of(stack)

    uptime_kuma = preview.named(f"{COMPONENT}-uptime-kuma").inputs
    autokuma = preview.named(f"{COMPONENT}-autokuma").inputs
    assert uptime_kuma["image"] == image("uptime-kuma")
    assert autokuma["image"] == image("autokuma")
    files = autokuma_files(preview)
    for name in stack_services(stack):
        assert files[f"{name}-http"]["name"] == name
    for entity in files.values():
        ENTITY.validate_python(entity)


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_both_containers_have_a_limit_a_health_check_and_a_restart_policy(stack: str) -> None:
    """Memory limit, health check and restart policy, on the stack's network."""
    preview = preview_of(stack)

    for role in ("uptime-kuma", "autokuma"):
        inputs = preview.named(f"{COMPONENT}-{role}").inputs
        assert inputs["name"] == f"{stack}-{role}"
        assert inputs["memory"] > 0
        assert inputs["restart"] == RESTART_POLICY
        assert inputs["healthcheck"]["tests"]
        assert inputs["networksAdvanced"][0]["aliases"] == [role]


def test_the_reverse_proxy_reaches_uptime_kuma_by_its_role_on_port_3001() -> None:
    """The alias `uptime-kuma` and port 3001, published on loopback only."""
    inputs = preview_of("prod").named(f"{COMPONENT}-uptime-kuma").inputs

    assert inputs["networksAdvanced"][0]["aliases"] == [render_autokuma.UPTIME_KUMA_ROLE]
    assert [(port["internal"], port["ip"]) for port in inputs["ports"]] == [(3001, "127.0.0.1")]
    assert render_autokuma.UPTIME_KUMA_URL == "http://uptime-kuma:3001"
    assert "UPTIME_KUMA_DB_TYPE=sqlite" in inputs["envs"]


def test_the_edge_proxy_sends_the_status_host_name_to_uptime_kumas_role_and_port() -> None:
    """EdgeSecurity's upstream for the status host is this container's alias and port."""
    from components.edge.render_origin import STATUS_PAGE_UPSTREAM

    role, port = render_autokuma.UPTIME_KUMA_ROLE, render_autokuma.UPTIME_KUMA_PORT
    assert f"{role}:{port}" == STATUS_PAGE_UPSTREAM


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("staging", False)])
def test_uptime_kuma_and_autokuma_keep_their_state_on_named_volumes(
    stack: str, protected: bool
) -> None:
    """Named volumes mounted at their data paths; prod's survive deletion."""
    preview = preview_of(stack)

    for role, target in (("uptime-kuma", "/app/data"), ("autokuma", "/data")):
        volume = preview.named(f"{COMPONENT}-{role}-data")
        mounts = preview.named(f"{COMPONENT}-{role}").inputs["mounts"]
        assert volume.inputs["name"] == f"{stack}-{role}-data"
        assert (volume.protect, volume.retain_on_delete) == (protected, protected)
        assert [(mount["target"], mount["source"]) for mount in mounts] == [
            (target, f"{stack}-{role}-data")
        ]


def test_autokuma_logs_in_with_the_generated_password_and_reads_the_files() -> None:
    """Its environment points at Uptime Kuma, the files and its volume; secrets stay secret."""
    preview = preview_of("prod")

    masked = preview.named(f"{COMPONENT}-autokuma").inputs["envs"]
    env = env_map(raw_inputs(preview, f"{COMPONENT}-autokuma")["envs"])
    assert env["AUTOKUMA__KUMA__URL"] == "http://uptime-kuma:3001"
    assert env["AUTOKUMA__KUMA__USERNAME"] == "admin"
    assert env["AUTOKUMA__KUMA__PASSWORD"] == "generated-password-of-status-page-admin-password"
    assert env["AUTOKUMA__STATIC_MONITORS"] == render_autokuma.STATIC_MONITORS_DIR
    assert env["AUTOKUMA__DATA_PATH"] == "/data"
    assert env["AUTOKUMA__DOCKER__ENABLED"] == "false"
    assert not any(entry.startswith("AUTOKUMA__KUMA__PASSWORD") for entry in masked)
    assert preview.outputs["status_page_admin_password"] == "[secret]"


@pytest.mark.parametrize("stack", ["prod", "staging", "local"])
def test_every_variable_a_file_reads_is_set_in_autokumas_environment(stack: str) -> None:
    """Each `get_env` in a file names a variable the container has."""
    preview = preview_of(stack)
    env = env_map(raw_inputs(preview, f"{COMPONENT}-autokuma")["envs"])

    referenced = {
        match.group(1)
        for entity in autokuma_files(preview).values()
        for value in _strings(entity)
        if (match := ENV_TEMPLATE.match(value))
    }
    assert referenced <= set(env)
    assert referenced == set(render_autokuma.secret_environment_names(stack_settings(stack)))


def test_no_secret_reaches_a_file_or_the_masked_preview() -> None:
    """The Slack webhook and SMTP password reach AutoKuma only as secret environment values."""
    preview = run_preview(
        "prod", secrets={"slack_webhook_url": SLACK_SECRET, "smtp_password": SMTP_SECRET}
    )

    env = env_map(raw_inputs(preview, f"{COMPONENT}-autokuma")["envs"])
    assert env[render_autokuma.SLACK_WEBHOOK_ENV] == SLACK_SECRET
    assert env[render_autokuma.SMTP_PASSWORD_ENV] == SMTP_SECRET
    for content in preview.files().values():
        assert SLACK_SECRET not in content
        assert SMTP_SECRET not in content
    for resource in preview.resources:
        text = json.dumps(resource.inputs)
        assert SLACK_SECRET not in text, resource.name
        assert SMTP_SECRET not in text, resource.name


def test_the_backup_job_gets_a_secret_push_url_with_a_32_character_token(tmp_path: Path) -> None:
    """The push URL goes to Uptime Kuma on the stack network; it and its token are secrets."""
    program = tmp_path / "__main__.py"
    program.write_text(PUSH_PROGRAM)
    preview = run_preview("prod", program=program)

    assert preview.outputs == {"backup_push_token": "[secret]", "backup_push_url": "[secret]"}
    env = env_map(raw_inputs(preview, f"{COMPONENT}-autokuma")["envs"])
    token = env[render_autokuma.BACKUP_PUSH_TOKEN_ENV]
    assert PUSH_TOKEN.match(token)
    token_resource = preview.named(f"{COMPONENT}-backup-push-token")
    assert token_resource.protect
    assert token_resource.inputs["special"] is False


def test_a_stack_without_backups_has_no_push_monitor() -> None:
    """Local runs no backups: no push monitor, no token."""
    preview = preview_of("local")

    assert render_autokuma.BACKUP_PUSH_ID not in autokuma_files(preview)
    assert f"{COMPONENT}-backup-push-token" not in [r.name for r in preview.resources]


def test_the_status_page_is_off_when_its_component_is() -> None:
    """`components.status_page: false` declares nothing of it."""
    components = stack_values("local")["components"] | {"status_page": False}
    preview = run_preview("local", overrides={"components": components})

    assert not preview.children_of(COMPONENT)
    assert "status_page_url" not in preview.outputs


def test_the_status_page_url_and_its_manual_setup_are_exported() -> None:
    """The public URL, and the groups and windows the operator sets once by hand."""
    outputs = preview_of("prod").outputs

    assert outputs["status_page_url"] == "https://status.example.com/status/status"
    setup = json.loads(outputs["status_page_manual_setup"])
    listed = [name for group in setup["status_page"]["groups"] for name in group["monitors"]]
    assert set(stack_services("prod")) <= set(listed)


def test_the_preview_is_identical_run_after_run() -> None:
    """Same settings, byte-identical files and resources."""
    first = run_preview("staging")
    second = run_preview("staging")

    assert first.files() == second.files()
    assert first.manifest() == second.manifest()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
