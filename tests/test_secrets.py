"""The stack's secrets in Secrets Manager: names per stack, never in plain text, kept in prod."""

from __future__ import annotations

import json

from preview import run_preview
from tests.conftest import preview_of

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ENTRIES = {
    "prod": [
        "backup-credentials",
        "database-url",
        "grafana-admin-password",
        "pagerduty-routing-key",
        "sentry-dsn-backend",
        "sentry-dsn-frontend",
        "slack-webhook-url",
        "smtp-password",
    ],
    "staging": [
        "backup-credentials",
        "database-url",
        "grafana-admin-password",
        "sentry-dsn-backend",
        "sentry-dsn-frontend",
        "slack-webhook-url",
    ],
}
CANARIES = {
    "database_url": "postgresql://app:canary-db-password@db.internal/app",
    "sentry_dsn_backend": "https://canary-backend-key@sentry.example.com/1",
    "sentry_dsn_frontend": "https://canary-frontend-key@sentry.example.com/2",
    "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/canary-slack",
}


def test_each_stack_names_its_secrets_project_stack_entry(deployed_stack: str) -> None:
    """`<project>/<stack>/<name>`, so two stacks in one account never collide."""
    secrets = preview_of(deployed_stack).of_type(SECRET)
    names = sorted(secret.inputs["name"] for secret in secrets)
    assert names == [f"observability/{deployed_stack}/{entry}" for entry in ENTRIES[deployed_stack]]


def test_every_secret_value_reaches_aws_masked(deployed_stack: str) -> None:
    """Each entry gets one version whose value the engine only sees as a secret."""
    preview = preview_of(deployed_stack)
    versions = preview.of_type(VERSION)
    assert len(versions) == len(ENTRIES[deployed_stack])
    assert {version.inputs["secretString"] for version in versions} == {"[secret]"}


def test_secret_values_never_appear_in_plain_text_anywhere() -> None:
    """Canary values reach Secrets Manager and the containers, but no file, input or output."""
    preview = run_preview("staging", secrets=CANARIES)
    raw = "\n".join(preview.walk_strings())
    for value in CANARIES.values():
        assert value in raw, "the canary must reach the engine, or the test proves nothing"

    visible = json.dumps(
        {
            "manifest": preview.manifest(),
            "files": {f"{owner}:{path}": text for (owner, path), text in preview.files().items()},
            "outputs": preview.outputs,
        }
    )
    for value in (*CANARIES.values(), "preview-secret-access-key-of-backups-writer-key"):
        assert value not in visible
        assert value.split("@")[0].split("/")[-1] not in visible


def test_the_database_url_reaches_the_dump_container_as_a_secret_file() -> None:
    """The dump container reads it from a 0400 file, never from its environment."""
    preview = run_preview("staging", secrets=CANARIES)
    dump = preview.named("backups-postgres-dump").inputs
    (upload,) = [u for u in dump["uploads"] if u["file"] == "/run/secrets/database_url"]
    assert upload["content"] == "[secret]" and upload["permissions"] == "0400"
    assert not [env for env in dump.get("envs", []) if "postgresql://" in env]


def test_backup_credentials_are_stored_as_the_aws_tools_read_them() -> None:
    """The writer's access key pair, as JSON, in the `backup-credentials` entry."""
    preview = preview_of("staging")
    index = [r.name for r in preview.resources].index("secrets-backup-credentials-value")
    stored = json.loads(preview.raw_inputs[index]["secretString"])
    assert stored == {
        "aws_access_key_id": "backups-writer-key-id",
        "aws_secret_access_key": "preview-secret-access-key-of-backups-writer-key",
    }


def test_prod_protects_every_secret_and_staging_deletes_them_at_once() -> None:
    """Prod keeps deleted secrets 30 days and refuses to destroy them; staging can be rebuilt."""
    for secret in preview_of("prod").of_type(SECRET):
        assert secret.protect and secret.retain_on_delete, secret.name
        assert secret.inputs["recoveryWindowInDays"] == 30
    for secret in preview_of("staging").of_type(SECRET):
        assert not secret.protect
        assert secret.inputs["recoveryWindowInDays"] == 0


def test_local_stack_asks_for_no_aws_secret() -> None:
    """Without backups the local stack needs no database URL or Sentry DSN."""
    preview = preview_of("local")
    assert not preview.of_type(SECRET)
