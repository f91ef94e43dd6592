"""Settings of the logging stack (Loki and Grafana Alloy)."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from config.base import Duration, MemoryLimits, StrictModel, memory_mb_field, seconds

Environment = Literal["prod", "staging", "local"]
ObjectStore = Literal["filesystem", "s3"]
IndexStore = Literal["tsdb", "boltdb-shipper"]
SchemaVersion = Literal["v11", "v12", "v13"]

DEFAULT_RETENTION: dict[Environment, str] = {"prod": "30d", "staging": "7d", "local": "7d"}
DEFAULT_AUDIT_RETENTION = "365d"
DAY_SECONDS = 86400

# Memory limits in MiB. Loki runs every component in one process and holds the recent chunks
# of a few hundred streams plus its query caches; Alloy tails a few dozen containers.
DEFAULT_MEMORY_MB = {
    "loki": 768,
    "alloy": 256,
}

# Label names Loki indexes; a structured metadata key must not shadow one of them.
STREAM_LABELS = ("container", "service", "environment", "host", "level", "audit")
DEFAULT_STRUCTURED_METADATA = ("logger", "request_id", "user_id", "trace_id")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGION = r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$"


class SchemaPeriod(StrictModel):
    """One period of Loki's schema: from which day on chunks and index use which format.

    Periods are only ever appended: a change starts a new period on a day after the last one
    and after the day it is deployed; an existing period is never rewritten.
    """

    starts: datetime.date = Field(
        alias="from", description="First day (UTC) of the period, in YYYY-MM-DD format."
    )
    store: IndexStore = Field(default="tsdb", description="The index store of the period.")
    object_store: ObjectStore = Field(
        default="filesystem", description="Where the period's chunks and index live."
    )
    schema_version: SchemaVersion = Field(
        default="v13", alias="schema", description="The schema version of the period."
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


DEFAULT_SCHEMA_PERIODS = (SchemaPeriod.model_validate({"from": datetime.date(2026, 11, 1)}),)
"""The first schema period every stack starts with; never edit it, append a period instead."""


class ObjectStorage(StrictModel):
    """The S3 bucket Loki keeps chunks and index in, once the settings switch to it."""

    region: str = Field(pattern=_REGION, description="AWS region of Loki's bucket.")
    credentials_secret: str = Field(
        pattern=r"^[A-Za-z0-9/_+=.@-]{1,512}$",
        description=(
            "Secrets Manager secret holding Loki's S3 credentials as JSON "
            "with `access_key_id` and `secret_access_key`."
        ),
    )


class LoggingSettings(MemoryLimits):
    """How logs are collected and kept."""

    retention: Duration | None = Field(
        default=None,
        description="How long Loki keeps log entries, whole days; not set: 30d in prod, 7d else.",
    )
    audit_field: str = Field(
        default="audit", description="JSON key that marks a log entry as an audit event."
    )
    audit_value: str = Field(
        default="true", min_length=1, description="Value of `audit_field` on an audit event."
    )
    audit_retention: Duration = Field(
        default=DEFAULT_AUDIT_RETENTION,
        description="How long audit events are kept, whole days, at least `retention`.",
    )
    structured_metadata: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STRUCTURED_METADATA),
        description="JSON keys kept as structured metadata, searchable but never labels.",
    )
    error_lines: PositiveInt = Field(
        default=20, description="Error lines of one service within `error_window` that alert."
    )
    error_window: Duration = Field(default="5m", description="Window of the error-lines alert.")
    error_for: Duration = Field(
        default="2m", description="How long the error-lines condition lasts before it alerts."
    )
    traceback_burst: PositiveInt = Field(
        default=5, description="Python tracebacks of one service within `traceback_window`."
    )
    traceback_window: Duration = Field(
        default="10m", description="Window of the traceback-burst alert."
    )
    ingestion_rate_mb: PositiveFloat = Field(
        default=4, description="Sustained ingestion Loki accepts, in MB per second."
    )
    ingestion_burst_mb: PositiveFloat = Field(
        default=8, description="Burst Loki accepts above the sustained rate, in MB."
    )
    storage: ObjectStore = Field(
        default="filesystem",
        description="`filesystem` (the Loki volume) or `s3` (a bucket this program declares).",
    )
    s3: ObjectStorage | None = Field(
        default=None, description="Loki's bucket; required when `storage` is `s3`."
    )
    schema_periods: list[SchemaPeriod] = Field(
        default_factory=lambda: list(DEFAULT_SCHEMA_PERIODS),
        min_length=1,
        description="Loki's schema periods, oldest first; only ever append one.",
    )
    host: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$",
        description="The `host` label of every entry; not set: the host of `docker:host`.",
    )
    memory_mb: dict[str, PositiveInt] = memory_mb_field(
        DEFAULT_MEMORY_MB, "Memory limits in MiB of the `loki` and `alloy` containers."
    )

    @field_validator("audit_field")
    @classmethod
    def _audit_field_is_a_key(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("must be a JSON key of letters, digits and '_', not starting a digit")
        return value

    @field_validator("retention", "audit_retention")
    @classmethod
    def _whole_days(cls, value: str | None) -> str | None:
        # The compactor deletes whole index tables, one per day.
        if value is not None and seconds(value) % DAY_SECONDS:
            raise ValueError("must be a whole number of days such as 7d or 30d")
        return value

    @field_validator("structured_metadata")
    @classmethod
    def _metadata_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not _IDENTIFIER.match(key):
                raise ValueError(
                    f"must hold label-like names ([A-Za-z_][A-Za-z0-9_]*), got {key!r}"
                )
            if key in STREAM_LABELS:
                raise ValueError(f"must not name a stream label {list(STREAM_LABELS)}, got {key!r}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"must not repeat a key, got {keys}")
        return keys

    @field_validator("schema_periods")
    @classmethod
    def _periods_only_grow(cls, periods: list[SchemaPeriod]) -> list[SchemaPeriod]:
        check_schema_periods(periods)
        return periods

    @model_validator(mode="after")
    def _consistent(self) -> LoggingSettings:
        if self.retention is not None and seconds(self.audit_retention) < seconds(self.retention):
            raise ValueError(
                f"audit_retention must not be shorter than retention, "
                f"got {self.audit_retention} < {self.retention}"
            )

        newest = self.schema_periods[-1]
        if newest.object_store != self.storage:
            raise ValueError(
                f"schema_periods: the newest period must use object_store {self.storage!r} "
                f"like storage, got {newest.object_store!r}; append a period starting after "
                f"the day of the change"
            )
        if self.storage == "s3" and self.s3 is None:
            raise ValueError("s3 is required when storage is 's3'")
        return self

    def retention_for(self, environment: Environment) -> str:
        """How long Loki keeps ordinary entries in one environment."""
        return self.retention or DEFAULT_RETENTION[environment]

    def audit_retention_for(self, environment: Environment) -> str:
        """How long audit events are kept: never shorter than ordinary entries."""
        ordinary = self.retention_for(environment)
        if seconds(self.audit_retention) < seconds(ordinary):
            return ordinary
        return self.audit_retention


def check_schema_periods(periods: list[SchemaPeriod]) -> None:
    """Raise unless the periods start on increasing days and the newest is Loki 3's tsdb/v13."""
    for previous, period in itertools.pairwise(periods):
        if period.starts <= previous.starts:
            raise ValueError(
                f"must start on increasing days; a new period starts after the last one, "
                f"got {period.starts} after {previous.starts}"
            )

    newest = periods[-1]
    # Loki 3 refuses to start with structured metadata unless the newest period is tsdb/v13.
    if (newest.store, newest.schema_version) != ("tsdb", "v13"):
        raise ValueError(
            f"must end with a period of store 'tsdb' and schema 'v13', "
            f"got {newest.store!r} and {newest.schema_version!r}"
        )


def check_schema_history(
    deployed: Sequence[Mapping[str, Any]], periods: Sequence[SchemaPeriod]
) -> None:
    """Raise unless `periods` start with the deployed periods, unchanged, and only add later ones.

    Loki reads old chunks and index with the period they were written under, so a deployed
    period is history: editing it makes that data unreadable.
    """
    history = [SchemaPeriod.model_validate(period) for period in deployed]
    for index, period in enumerate(history):
        if index >= len(periods) or periods[index] != period:
            raise ValueError(
                f"schema_periods rewrites the deployed period from {period.starts}; "
                f"keep it and append a new period starting after today instead"
            )
    check_schema_periods(list(periods))
