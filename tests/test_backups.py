"""The backup bucket, its policies and lifecycle, the writer identity, the runner and its alerts."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.backups import render_alerts, render_schedules, render_storage
from components.bucket_policies import bucket_policy, policy_json
from config import ConfigError, settings_from_config
from preview import Preview
from tests.conftest import preview_of, real_tool

with warnings.catch_warnings():
    # parliament still imports pkg_resources, which warns on import.
    warnings.simplefilter("ignore")
    from parliament import analyze_policy_string

BUCKET = "observability-prod-backups-123456789012"
KEY = "arn:aws:kms:eu-central-1:123456789012:key/68969f7d-e2e0-f0f2-a4ab-36a0c98a6ede"
REPLICA_KEY = "arn:aws:kms:eu-west-1:123456789012:key/2fe97738-1097-66cd-2b83-e5bb453fe3ae"
MINIMAL = {
    "environment": "staging",
    "domain": "example.com",
    "hostnames": {
        "app": "app.example.com",
        "api": "api.example.com",
        "grafana": "grafana.example.com",
        "status": "status.example.com",
    },
    "services": [{"name": "api", "health_url": "https://api.example.com/health"}],
    "components": {"edge_security": False},
    "receivers": {"slack": {"channel": "#alerts"}},
    "routing": {"critical": ["slack"], "warning": ["slack"]},
}


def _policy(preview: Preview, name: str) -> dict[str, Any]:
    return json.loads(preview.named(name).inputs["policy"])


def _findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    policy = analyze_policy_string(policy_json(document), include_community_auditors=True)
    return [(finding.issue, str(finding.detail)) for finding in policy.findings]


def test_each_deployed_stack_has_one_versioned_kms_encrypted_private_bucket(
    deployed_stack: str,
) -> None:
    """Versioning, SSE-KMS with the stack's own rotating key, and all four public blocks."""
    preview = preview_of(deployed_stack)
    bucket = preview.named("backups-bucket").inputs
    assert bucket["bucket"] == f"observability-{deployed_stack}-backups-123456789012"

    versioning = preview.named("backups-bucket-versioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}

    key = preview.named("backups-key").inputs
    assert key["enableKeyRotation"] is True
    (rule,) = preview.named("backups-bucket-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith(
        "arn:aws:kms:eu-central-1:"
    )
    assert rule["bucketKeyEnabled"] is True

    blocks = preview.named("backups-bucket-public-access").inputs
    assert {name: blocks[name] for name in blocks if name != "bucket"} == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def test_bucket_policy_refuses_plain_http_and_uploads_not_encrypted_with_the_key(
    deployed_stack: str,
) -> None:
    """Deny on aws:SecureTransport=false; deny PutObject asking for other encryption or keys."""
    preview = preview_of(deployed_stack)
    policy = _policy(preview, "backups-bucket-policy")
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    bucket = f"arn:aws:s3:::observability-{deployed_stack}-backups-123456789012"

    http = statements["DenyPlainHttp"]
    assert http["Effect"] == "Deny" and http["Principal"] == "*"
    assert http["Resource"] == [bucket, f"{bucket}/*"]
    assert http["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    encryption = statements["DenyUploadsNotEncryptedWithKms"]
    assert encryption["Effect"] == "Deny" and encryption["Action"] == "s3:PutObject"
    assert encryption["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }
    other_key = statements["DenyUploadsWithAnotherKey"]
    key_arn = preview.named("backups-bucket-encryption").inputs["rules"][0][
        "applyServerSideEncryptionByDefault"
    ]["kmsMasterKeyId"]
    assert other_key["Condition"]["ArnNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
    }


def test_every_lifecycle_rule_has_exactly_one_filter_and_keeps_the_configured_time() -> None:
    """daily/ N days, weekly/ M weeks then colder, old versions expire, uploads are aborted."""
    preview = preview_of("prod")
    rules = {rule["id"]: rule for rule in preview.named("backups-bucket-lifecycle").inputs["rules"]}

    for rule in rules.values():
        assert rule["status"] == "Enabled"
        assert "prefix" not in rule, "the rule-level prefix is deprecated"
        assert list(rule["filter"]) == ["prefix"], rule["id"]

    assert rules["expire-daily"]["filter"] == {"prefix": "daily/"}
    assert rules["expire-daily"]["expiration"] == {"days": 30}
    weekly = rules["cool-and-expire-weekly"]
    assert weekly["filter"] == {"prefix": "weekly/"}
    assert weekly["expiration"] == {"days": 12 * 7}
    assert weekly["transitions"] == [{"storageClass": "GLACIER_IR", "days": 1}]
    assert rules["expire-old-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 2
    }


def test_the_writer_may_only_put_and_list_under_the_backup_prefixes(deployed_stack: str) -> None:
    """No delete, no read: put and list on daily/ and weekly/, and the key through S3 only."""
    preview = preview_of(deployed_stack)
    policy = _policy(preview, "backups-writer-policy")
    assert render_storage.writer_actions(policy) == [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "s3:ListBucket",
        "s3:PutObject",
    ]
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    bucket = f"arn:aws:s3:::observability-{deployed_stack}-backups-123456789012"
    assert statements["WriteBackups"]["Resource"] == [f"{bucket}/daily/*", f"{bucket}/weekly/*"]
    assert statements["ListBackups"]["Condition"] == {
        "StringLike": {"s3:prefix": ["daily/*", "weekly/*"]}
    }
    assert statements["EncryptBackups"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}
    }


@pytest.mark.parametrize(
    "document",
    [
        bucket_policy(BUCKET, KEY),
        render_storage.writer_policy(BUCKET, KEY, "eu-central-1"),
        render_storage.replication_policy(
            BUCKET,
            "observability-prod-replica-123456789012",
            KEY,
            REPLICA_KEY,
            ("eu-central-1", "eu-west-1"),
        ),
    ],
    ids=["bucket", "writer", "replication"],
)
def test_generated_policies_pass_parliament_without_findings(document: dict[str, Any]) -> None:
    """parliament, with its community auditors, finds nothing in our policy documents."""
    assert _findings(document) == []


def test_preview_policies_pass_parliament_without_findings() -> None:
    """The documents the engine receives in prod, with the preview's ARNs, are clean too."""
    preview = preview_of("prod")
    for name in ("backups-bucket-policy", "backups-writer-policy", "backups-replication-policy"):
        assert _findings(_policy(preview, name)) == [], name


def test_the_replication_trust_policy_is_only_flagged_for_lacking_a_resource() -> None:
    """A trust policy has no Resource by definition; parliament reads it as an identity policy."""
    findings = _findings(render_storage.replication_trust_policy())
    assert [issue for issue, _ in findings] == ["MALFORMED"]
    assert "neither Resource nor NotResource" in findings[0][1]


def test_prod_protects_buckets_keys_and_object_lock_and_staging_does_not() -> None:
    """In prod neither `pulumi destroy` nor a rename deletes the data; staging may be rebuilt."""
    prod, staging = preview_of("prod"), preview_of("staging")
    guarded = (
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    )
    for token in guarded:
        resources = prod.of_type(token)
        assert resources, token
        assert all(r.protect and r.retain_on_delete for r in resources), token
    assert all(not r.protect for r in staging.of_type("aws:s3/bucket:Bucket"))
    assert prod.named("backups-bucket").inputs["forceDestroy"] is False
    assert staging.named("backups-bucket").inputs["forceDestroy"] is True
    assert prod.named("backups-key").inputs["deletionWindowInDays"] == 30
    assert staging.named("backups-key").inputs["deletionWindowInDays"] == 7


def test_prod_locks_objects_in_governance_mode_and_replicates_to_a_second_region() -> None:
    """Object lock with a default retention; every version copied, encrypted, elsewhere."""
    preview = preview_of("prod")
    assert preview.named("backups-bucket").inputs["objectLockEnabled"] is True
    lock = preview.named("backups-bucket-object-lock").inputs["rule"]["defaultRetention"]
    assert lock == {"mode": "GOVERNANCE", "days": 30}

    assert preview.named("backups-replica").inputs["region"] == "eu-west-1"
    (rule,) = preview.named("backups-replication").inputs["rules"]
    assert list(rule["filter"]) == ["prefix"]
    assert rule["destination"]["bucket"] == "arn:aws:s3:::observability-prod-replica-123456789012"
    assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"].startswith(
        "arn:aws:kms:eu-west-1:"
    )
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}


def test_staging_has_no_object_lock_and_no_replica() -> None:
    """Staging can be destroyed and brought up again."""
    preview = preview_of("staging")
    assert preview.named("backups-bucket").inputs["objectLockEnabled"] is False
    assert not preview.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")


def test_local_stack_declares_nothing_on_aws() -> None:
    """Backups are off locally, so the local stack runs without an AWS account."""
    preview = preview_of("local")
    assert not [r for r in preview.resources if r.type.startswith("aws:")]
    assert not [r for r in preview.resources if r.type.startswith("observability:backups")]


def test_the_runner_archives_database_and_state_volumes_daily_and_weekly(
    deployed_stack: str,
) -> None:
    """Four schedules, each under its own prefix; the state volumes are mounted read-only."""
    preview = preview_of(deployed_stack)
    runner = preview.named("backups-backup").inputs
    assert runner["image"].startswith("offen/docker-volume-backup:v")
    files = {
        path: content
        for (owner, path), content in preview.files().items()
        if owner == f"{deployed_stack}-backup"
    }
    envs = sorted(path for path in files if path.endswith(".env"))
    assert envs == [
        f"{render_schedules.CONF_DIR}/{name}.env"
        for name in ("postgres-daily", "postgres-weekly", "volumes-daily", "volumes-weekly")
    ]
    daily = files[f"{render_schedules.CONF_DIR}/postgres-daily.env"]
    assert 'AWS_S3_PATH="daily/postgres"' in daily
    assert 'BACKUP_CRON_EXPRESSION="0 3 * * *"' in daily

    mounts = {mount["target"]: mount for mount in runner["mounts"]}
    assert mounts["/backup/volumes/grafana"]["source"] == f"{deployed_stack}-grafana-data"
    assert mounts["/backup/volumes/uptime-kuma"]["source"] == f"{deployed_stack}-uptime-kuma-data"
    assert all(mount["readOnly"] for mount in mounts.values())


def test_the_dump_container_joins_the_product_network_and_is_labelled_for_the_runner() -> None:
    """The runner runs pg_dump in it before each postgres archive."""
    preview = preview_of("prod")
    dump = preview.named("backups-postgres-dump").inputs
    assert [network["name"] for network in dump["networksAdvanced"]][1:] == ["product"]
    labels = {label["label"]: label["value"] for label in dump["labels"]}
    assert labels["docker-volume-backup.exec-label"] == "prod-postgres"
    assert "pg_dump --format=custom" in labels["docker-volume-backup.archive-pre"]


def test_every_run_reports_to_the_pushgateway_and_the_status_page_push_monitor() -> None:
    """The notification URLs hold the push token, so they arrive as secret files."""
    preview = preview_of("prod")
    runner = "prod-backup"
    raw = {
        upload["file"]: upload["content"]
        for inputs in preview.raw_inputs
        if inputs.get("name") == runner
        for upload in inputs["uploads"]
    }
    urls = raw["/run/secrets/notification_urls_postgres_daily"].split(",")
    assert urls[0].startswith("generic://pushgateway:9091/metrics/job/backup/schedule/")
    assert urls[1].startswith("generic+http://uptime-kuma:3001/api/push/")
    assert preview.file(runner, "/run/secrets/notification_urls_postgres_daily") == "[secret]"


def test_the_pushgateway_body_is_valid_text_exposition(tmp_path: Path) -> None:
    """promtool accepts the bodies the template produces once the runner fills in its values."""
    template = render_schedules.render_notification_template()
    bodies = {
        "success": template.split('{{ define "body_success" -}}\n')[1].split("{{ end }}")[0],
        "failure": template.split('{{ define "body_failure" -}}\n')[1].split("{{ end }}")[0],
    }
    # Limitation: the Go template itself is only rendered by the runner; here its two
    # placeholders are filled in by hand.
    filled = (
        bodies["success"]
        .replace("{{ .Stats.EndTime.Unix }}", "1764730800")
        .replace("{{ .Stats.BackupFile.Size }}", "1048576")
    )
    for name, body in (("success", filled), ("failure", bodies["failure"])):
        assert "{{" not in body and body.endswith("\n"), name
        result = subprocess.run(
            [real_tool("promtool"), "check", "metrics"], input=body, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_backup_rules_reach_prometheus_and_pass_promtool(tmp_path: Path) -> None:
    """The rule file is a sibling rule file of Prometheus and promtool accepts it."""
    preview = preview_of("prod")
    rules = preview.file("prod-prometheus", render_alerts.RULES_PATH)
    path = tmp_path / "backups.yml"
    path.write_text(rules)
    result = subprocess.run(
        [real_tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {rule["alert"] for rule in yaml.safe_load(rules)["groups"][0]["rules"]}
    assert alerts == {"BackupFailed", "BackupStale", "BackupMissing"}


def test_failed_stale_and_missing_backups_alert_at_the_right_time(tmp_path: Path) -> None:
    """promtool's rule unit tests: a failure warns, a day plus grace without success pages."""
    (tmp_path / "backups.yml").write_text(render_alerts.render_backup_rules(preview_settings()))
    success = 'backup_last_success_timestamp_seconds{job="backup",schedule="postgres-daily"}'
    failed = 'backup_last_run_failed{job="backup",schedule="postgres-daily"}'
    weekly = 'backup_last_success_timestamp_seconds{job="backup",schedule="%s"}'
    others = [
        {"series": weekly % name, "values": "0+60x1800"}
        for name in ("postgres-weekly", "volumes-daily", "volumes-weekly")
    ]
    tests = {
        "rule_files": ["backups.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # The last success was at t=0 and never again; the next run failed at 1h.
                    {"series": success, "values": "0+0x1800"},
                    {"series": failed, "values": "0x59 1+0x1740"},
                    *others,
                ],
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "BackupFailed", "exp_alerts": []},
                    {
                        "eval_time": "2h",
                        "alertname": "BackupFailed",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "instance": "postgres-daily",
                                    "job": "backup",
                                    "schedule": "postgres-daily",
                                },
                                "exp_annotations": {
                                    "summary": "Backup postgres-daily failed",
                                    "description": "The last run of postgres-daily failed; "
                                    "read the backup runner's log.",
                                },
                            }
                        ],
                    },
                    {"eval_time": "25h", "alertname": "BackupStale", "exp_alerts": []},
                    {
                        "eval_time": "26h30m",
                        "alertname": "BackupStale",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "instance": "postgres-daily",
                                },
                                "exp_annotations": {
                                    "summary": "Backup postgres-daily is older than its schedule",
                                    "description": "The newest postgres-daily backup is "
                                    "1d 2h 30m 0s old; it runs every 24h.",
                                },
                            }
                        ],
                    },
                ],
            },
            {
                "interval": "1m",
                "input_series": others,
                "alert_rule_test": [
                    {"eval_time": "25h", "alertname": "BackupMissing", "exp_alerts": []},
                    {
                        "eval_time": "26h30m",
                        "alertname": "BackupMissing",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "instance": "postgres-daily",
                                    "schedule": "postgres-daily",
                                },
                                "exp_annotations": {
                                    "summary": "Backup postgres-daily has not succeeded since "
                                    "the Pushgateway started",
                                    "description": "No successful postgres-daily run reported "
                                    "for 26h; check the backup runner and the Pushgateway.",
                                },
                            }
                        ],
                    },
                ],
            },
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [real_tool("promtool"), "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def preview_settings() -> Any:
    """Staging-like settings with default backup schedules and a 2h grace."""
    return settings_from_config("staging", MINIMAL, aws_region="eu-central-1")


def test_staging_and_prod_secret_recovery_windows_follow_the_environment() -> None:
    """Staging deletes secrets at once so destroy-then-up works; prod keeps them 30 days."""
    for stack, days in (("prod", 30), ("staging", 0)):
        secrets = preview_of(stack).of_type("aws:secretsmanager/secret:Secret")
        assert secrets
        assert {secret.inputs["recoveryWindowInDays"] for secret in secrets} == {days}


@pytest.mark.parametrize(
    ("backups", "message"),
    [
        (
            {"weekly_storage_class": "STANDARD_IA", "weekly_transition_days": 7},
            "observability:backups.weekly_transition_days must be at least 30 for STANDARD_IA",
        ),
        (
            {"weekly_keep_weeks": 1, "weekly_transition_days": 7},
            "weekly_keep_weeks must keep backups longer than weekly_transition_days",
        ),
        ({"secret_recovery_days": 3}, "secret_recovery_days must be 0 or between 7 and 30"),
        ({"daily_at": "25:00"}, r"observability:backups.daily_at must match"),
        ({"replica_region": "Mars"}, r"observability:backups.replica_region must match"),
        ({"memory_mb": {"runner": 64}}, r"memory_mb names unknown containers \['runner'\]"),
        ({"daily_keep_days": 0}, "observability:backups.daily_keep_days must be greater than 0"),
    ],
)
def test_invalid_backup_settings_are_refused(backups: dict[str, Any], message: str) -> None:
    """Each broken backup setting names the key, the rule and the value."""
    with pytest.raises(ConfigError, match=message):
        settings_from_config("staging", {**MINIMAL, "backups": backups}, aws_region="eu-central-1")


def test_a_replica_in_the_primary_region_is_refused() -> None:
    """Replication into the same region protects against nothing."""
    values = {**MINIMAL, "backups": {"replica_region": "eu-central-1"}}
    with pytest.raises(ConfigError, match="replica_region must differ from aws:region"):
        settings_from_config("staging", values, aws_region="eu-central-1")
