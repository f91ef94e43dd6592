"""Settings of backups and secrets on AWS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from config.base import Duration, MemoryLimits, memory_mb_field

# Memory limits in MiB. The backup runner streams a tar.gz of at most a few GB; pg_dump holds
# one table's rows at a time; the Pushgateway keeps a handful of series.
DEFAULT_MEMORY_MB = {
    "backup": 128,
    "postgres-dump": 128,
    "pushgateway": 64,
}

# Prod keeps deleted secrets, keys and locked backups for a month: long enough to notice a
# mistake after a holiday, the longest recovery window Secrets Manager and KMS allow.
PROD_RECOVERY_DAYS = 30
PROD_OBJECT_LOCK_DAYS = 30
# KMS refuses a deletion window shorter than 7 days.
MIN_KEY_DELETION_DAYS = 7

StorageClass = Literal[
    "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
]
Weekday = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
WEEKDAYS: tuple[Weekday, ...] = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# S3 refuses to move objects into these classes before they are 30 days old.
_THIRTY_DAY_MINIMUM = ("STANDARD_IA", "ONEZONE_IA")
_TIME_OF_DAY = r"^(?:[01]\d|2[0-3]):[0-5]\d$"
_REGION = r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$"


class BackupSettings(MemoryLimits):
    """Where backups go and how long they are kept."""

    daily_at: str = Field(
        default="03:00", pattern=_TIME_OF_DAY, description="UTC time of the daily backups (HH:MM)."
    )
    weekly_on: Weekday = Field(default="sun", description="Day of the weekly backups.")
    weekly_at: str = Field(
        default="04:00", pattern=_TIME_OF_DAY, description="UTC time of the weekly backups."
    )
    daily_keep_days: PositiveInt = Field(
        default=14, description="Days a backup under `daily/` is kept."
    )
    weekly_keep_weeks: PositiveInt = Field(
        default=8, description="Weeks a backup under `weekly/` is kept."
    )
    weekly_storage_class: StorageClass = Field(
        default="GLACIER_IR", description="The colder storage class weekly backups move to."
    )
    weekly_transition_days: NonNegativeInt = Field(
        default=1, description="Days after which a weekly backup moves to the colder class."
    )
    noncurrent_version_days: PositiveInt = Field(
        default=7, description="Days an overwritten or deleted version is kept before it expires."
    )
    abort_multipart_days: PositiveInt = Field(
        default=2, description="Days after which an unfinished multipart upload is aborted."
    )
    stale_after: Duration = Field(
        default="2h",
        description="Grace after a backup's schedule before a missing backup raises an alert.",
    )
    object_lock_days: PositiveInt | None = Field(
        default=None,
        description="Default object-lock retention in governance mode; prod defaults to 30.",
    )
    replica_region: str | None = Field(
        default=None,
        pattern=_REGION,
        description="A second AWS region the backups are replicated to; not set: no replica.",
    )
    secret_recovery_days: int | None = Field(
        default=None,
        description="Recovery window of deleted secrets: 0, or 7 to 30; prod 30, others 0.",
    )
    memory_mb: dict[str, PositiveInt] = memory_mb_field(
        DEFAULT_MEMORY_MB,
        "Memory limits in MiB of the backup runner, dump and Pushgateway containers.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> BackupSettings:
        days = self.secret_recovery_days
        if days is not None and days != 0 and not 7 <= days <= 30:
            raise ValueError(f"secret_recovery_days must be 0 or between 7 and 30, got {days}")

        minimum = 30 if self.weekly_storage_class in _THIRTY_DAY_MINIMUM else 0
        if self.weekly_transition_days < minimum:
            raise ValueError(
                f"weekly_transition_days must be at least {minimum} for "
                f"{self.weekly_storage_class}, got {self.weekly_transition_days}"
            )

        if self.weekly_keep_weeks * 7 <= self.weekly_transition_days:
            raise ValueError(
                f"weekly_keep_weeks must keep backups longer than weekly_transition_days, "
                f"got {self.weekly_keep_weeks} weeks and {self.weekly_transition_days} days"
            )
        return self

    def lock_days(self, prod: bool) -> int | None:
        """Default object-lock retention in days, or None where the bucket has no lock."""
        if self.object_lock_days is not None:
            return self.object_lock_days
        return PROD_OBJECT_LOCK_DAYS if prod else None

    def recovery_days(self, prod: bool) -> int:
        """Days Secrets Manager keeps a deleted secret; 0 deletes at once."""
        if self.secret_recovery_days is not None:
            return self.secret_recovery_days
        return PROD_RECOVERY_DAYS if prod else 0

    def key_deletion_days(self, prod: bool) -> int:
        """Days KMS waits before it deletes a scheduled key (7 is its minimum)."""
        return PROD_RECOVERY_DAYS if prod else MIN_KEY_DELETION_DAYS
