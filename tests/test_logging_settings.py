"""The `observability:logging` settings: defaults per environment, validation, schema history."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from config import ConfigError, Settings
from config.logging import DEFAULT_SCHEMA_PERIODS, SchemaPeriod, check_schema_history
from preview.harness import stack_settings, stack_values

DEPLOYED_SCHEMA_PERIODS: dict[str, list[dict[str, str]]] = {
    stack: [{"from": "2026-11-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13"}]
    for stack in ("prod", "staging", "local")
}
"""The schema periods each stack's Loki has run with. Append one when it is deployed; a period
here is history written to disk and is never edited."""

S3 = {"region": "eu-central-1", "credentials_secret": "observability/prod/loki-s3"}
SWITCH_TO_S3 = {
    "storage": "s3",
    "s3": S3,
    "schema_periods": [
        *DEPLOYED_SCHEMA_PERIODS["prod"],
        {"from": "2027-01-15", "store": "tsdb", "object_store": "s3", "schema": "v13"},
    ],
}


def settings_with_logging(stack: str, **logging: Any) -> Settings:
    """A stack's settings from its Pulumi.<stack>.yaml, with some logging keys replaced."""
    changed = {**stack_values(stack).get("logging", {}), **logging}
    return stack_settings(stack, {"logging": changed})


@pytest.mark.parametrize(
    ("stack", "retention"), [("prod", "30d"), ("staging", "7d"), ("local", "7d")]
)
def test_retention_defaults_to_thirty_days_in_prod_and_seven_elsewhere(
    stack: str, retention: str
) -> None:
    """No stack file sets a retention, so each runs with its environment's default."""
    settings = stack_settings(stack)

    assert settings.logging.retention is None
    assert settings.logging.retention_for(settings.environment) == retention


def test_a_retention_setting_overrides_the_default() -> None:
    """A stack may keep logs longer than its environment's default."""
    settings = settings_with_logging("staging", retention="14d")

    assert settings.logging.retention_for("staging") == "14d"


def test_audit_events_are_never_kept_shorter_than_ordinary_lines() -> None:
    """An audit retention under the environment's default is raised to it."""
    settings = settings_with_logging("prod", audit_retention="7d")

    assert settings.logging.audit_retention_for("prod") == "30d"
    assert settings.logging.audit_retention_for("staging") == "7d"


def test_stack_files_only_set_logging_values_that_differ_from_the_defaults() -> None:
    """Every key under observability:logging in a stack file changes something."""
    defaults = Settings.model_fields["logging"].default_factory()  # type: ignore[misc]
    for stack in DEPLOYED_SCHEMA_PERIODS:
        for key, value in stack_values(stack).get("logging", {}).items():
            assert getattr(stack_settings(stack).logging, key) != getattr(defaults, key), (
                f"Pulumi.{stack}.yaml sets observability:logging.{key} to its default {value!r}"
            )


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ({"retention": "36h"}, r"logging\.retention must be a whole number of days"),
        ({"retention": "0d"}, r"logging\.retention must be a positive duration"),
        ({"audit_retention": "12h"}, r"logging\.audit_retention must be a whole number of days"),
        (
            {"retention": "30d", "audit_retention": "7d"},
            "audit_retention must not be shorter than retention, got 7d < 30d",
        ),
        ({"audit_field": "is-audit"}, r"logging\.audit_field must be a JSON key"),
        ({"audit_value": ""}, r"logging\.audit_value"),
        (
            {"structured_metadata": ["request-id"]},
            r"logging\.structured_metadata must hold label-like names",
        ),
        ({"structured_metadata": ["level"]}, "must not name a stream label"),
        ({"structured_metadata": ["user_id", "user_id"]}, "must not repeat a key"),
        ({"memory_mb": {"promtail": 128}}, r"memory_mb names unknown containers \['promtail'\]"),
        ({"error_lines": 0}, r"logging\.error_lines must be greater than 0"),
        ({"error_window": "soon"}, r"logging\.error_window must be a positive duration"),
        ({"storage": "gcs"}, r"logging\.storage must be 'filesystem' or 's3'"),
        (
            {"storage": "s3", "s3": S3},
            "the newest period must use object_store 's3' like storage, got 'filesystem'",
        ),
        ({**SWITCH_TO_S3, "s3": None}, "s3 is required when storage is 's3'"),
        ({"s3": {**S3, "region": "Frankfurt"}}, r"logging\.s3\.region"),
        ({"host": "-bad"}, r"logging\.host"),
        (
            {"schema_periods": [{"from": "2026-11-01"}, {"from": "2026-10-01"}]},
            r"logging\.schema_periods must start on increasing days; a new period starts after "
            r"the last one, got 2026-10-01 after 2026-11-01",
        ),
        (
            {"schema_periods": [{"from": "2026-11-01"}, {"from": "2026-11-01"}]},
            "must start on increasing days",
        ),
        (
            {"schema_periods": [{"from": "2026-11-01", "schema": "v12"}]},
            r"logging\.schema_periods must end with a period of store 'tsdb' and schema 'v13', "
            r"got 'tsdb' and 'v12'",
        ),
        (
            {
                "schema_periods": [
                    {"from": "2026-11-01"},
                    {"from": "2027-01-01", "store": "boltdb-shipper"},
                ]
            },
            "must end with a period of store 'tsdb'",
        ),
        ({"schema_periods": []}, r"logging\.schema_periods"),
        ({"schema_periods": [{"from": "today"}]}, r"logging\.schema_periods\[0\]\.from"),
        ({"schema_periods": [{"from": "2026-11-01", "store": "bigtable"}]}, r"\.store"),
        ({"retention_days": 30}, r"logging\.retention_days is not a known setting"),
    ],
)
def test_invalid_logging_settings_are_refused_naming_key_rule_and_value(
    logging: dict[str, Any], message: str
) -> None:
    """Each broken rule stops the program before any resource, with key, rule and value."""
    with pytest.raises(ConfigError, match=message):
        settings_with_logging("prod", **logging)


def test_switching_prod_to_s3_appends_a_period_and_keeps_the_old_one() -> None:
    """The switch to S3 is a new period after the last; the filesystem period stays readable."""
    settings = settings_with_logging("prod", **SWITCH_TO_S3)

    periods = settings.logging.schema_periods
    assert [period.object_store for period in periods] == ["filesystem", "s3"]
    check_schema_history(DEPLOYED_SCHEMA_PERIODS["prod"], periods)


def test_every_stack_keeps_the_schema_periods_it_was_deployed_with(any_stack: str) -> None:
    """A stack's periods begin with the committed, deployed ones, unchanged; new ones follow."""
    periods = stack_settings(any_stack).logging.schema_periods

    check_schema_history(DEPLOYED_SCHEMA_PERIODS[any_stack], periods)


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        (
            [{"from": "2026-11-01", "store": "tsdb", "object_store": "s3", "schema": "v13"}],
            "rewrites the deployed period from 2026-11-01",
        ),
        (
            [
                {
                    "from": "2026-12-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                }
            ],
            "rewrites the deployed period from 2026-11-01",
        ),
        (
            [
                *DEPLOYED_SCHEMA_PERIODS["prod"],
                {"from": "2026-10-15", "store": "tsdb", "object_store": "s3", "schema": "v13"},
            ],
            "must start on increasing days",
        ),
    ],
)
def test_rewriting_or_preceding_a_deployed_period_is_caught(
    periods: list[dict[str, str]], message: str
) -> None:
    """A change to history, or a new period dated before it, fails against the committed list."""
    with pytest.raises(ValueError, match=message):
        configured = [SchemaPeriod.model_validate(period) for period in periods]
        check_schema_history(DEPLOYED_SCHEMA_PERIODS["prod"], configured)


def test_the_default_period_is_fixed_and_never_today() -> None:
    """The first period has a fixed date, so two runs on different days render the same file."""
    assert [period.starts for period in DEFAULT_SCHEMA_PERIODS] == [datetime.date(2026, 11, 1)]
    assert DEPLOYED_SCHEMA_PERIODS["prod"] == [
        period.model_dump(by_alias=True, mode="json") for period in DEFAULT_SCHEMA_PERIODS
    ]
