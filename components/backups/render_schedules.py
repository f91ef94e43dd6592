"""The backup schedules and the files the backup runner (offen/docker-volume-backup) reads.

One runner serves every schedule: each gets an env file in `conf.d`, which the image turns
into its own cron job. After every run the runner posts the outcome to the Pushgateway,
which Prometheus scrapes, and to the status page's push monitor when one is handed over.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from config.backups import WEEKDAYS
from config.settings import Settings

CONF_DIR = "/etc/dockervolumebackup/conf.d"
TEMPLATE_PATH = "/etc/dockervolumebackup/notifications.d/pushgateway.template"
SECRETS_DIR = "/run/secrets"
ACCESS_KEY_ID_PATH = f"{SECRETS_DIR}/aws_access_key_id"
SECRET_ACCESS_KEY_PATH = f"{SECRETS_DIR}/aws_secret_access_key"
DATABASE_URL_PATH = f"{SECRETS_DIR}/database_url"
SOURCES_DIR = "/backup"
DUMPS_DIR = "/dumps"
DUMP_FILE = "postgres.dump"
DOCKER_SOCKET = "/var/run/docker.sock"

PUSHGATEWAY_HOST = "pushgateway"
PUSHGATEWAY_PORT = 9091
PUSH_JOB = "backup"

DAY = 86400
WEEK = 7 * DAY


@dataclass(frozen=True)
class Schedule:
    """One cron job of the runner: what it archives, when, and under which prefix."""

    source: str
    tier: str
    cron: str
    period_seconds: int

    @property
    def name(self) -> str:
        """The schedule's name, such as `postgres-daily`; the `schedule` label of its metrics."""
        return f"{self.source}-{self.tier}"

    @property
    def prefix(self) -> str:
        """The bucket prefix its archives land under, such as `daily/postgres`."""
        return f"{self.tier}/{self.source}"


SOURCES = ("postgres", "volumes")
"""What is backed up: the database dump, and the state volumes of Grafana and Uptime Kuma."""


def schedules(settings: Settings) -> list[Schedule]:
    """Every schedule: each source daily and weekly."""
    backups = settings.backups
    daily = _cron(backups.daily_at, "*")
    weekly = _cron(backups.weekly_at, str(WEEKDAYS.index(backups.weekly_on)))
    return [
        schedule
        for source in SOURCES
        for schedule in (
            Schedule(source, "daily", daily, DAY),
            Schedule(source, "weekly", weekly, WEEK),
        )
    ]


def _cron(time_of_day: str, weekday: str) -> str:
    hour, minute = (int(part) for part in time_of_day.split(":"))
    return f"{minute} {hour} * * {weekday}"


def exec_label(settings: Settings, source: str) -> str:
    """The runner only runs commands in containers whose exec label matches the schedule's."""
    return f"{settings.stack}-{source}"


def notification_urls_path(schedule: Schedule) -> str:
    """Where the runner reads a schedule's notification URLs (secret: they hold push tokens)."""
    return f"{SECRETS_DIR}/notification_urls_{schedule.name.replace('-', '_')}"


def pushgateway_url(schedule: Schedule) -> str:
    """The shoutrrr URL that posts a schedule's outcome into its own Pushgateway group."""
    path = f"/metrics/job/{PUSH_JOB}/schedule/{schedule.name}"
    return (
        f"generic://{PUSHGATEWAY_HOST}:{PUSHGATEWAY_PORT}{path}"
        "?disabletls=yes&contenttype=text/plain"
    )


def push_monitor_url(push_url: str) -> str:
    """The shoutrrr URL that calls a status page push URL; its query reaches the target."""
    # Limitation: the runner notifies every URL after each run, failed or not, so the push
    # monitor shows that backups run; failed backups alert through Prometheus (BackupFailed).
    return f"generic+{push_url}"


def notification_urls(schedule: Schedule, push_url: str | None) -> str:
    """The comma-separated notification URLs of one schedule."""
    urls = [pushgateway_url(schedule)]
    if push_url is not None:
        urls.append(push_monitor_url(push_url))
    return ",".join(urls)


def render_schedule_env(settings: Settings, schedule: Schedule) -> str:
    """The `conf.d` env file of one schedule."""
    values = {
        "BACKUP_CRON_EXPRESSION": schedule.cron,
        "BACKUP_SOURCES": f"{SOURCES_DIR}/{schedule.source}",
        "BACKUP_FILENAME": f"{schedule.source}-%Y-%m-%dT%H-%M-%S.{{{{ .Extension }}}}",
        "AWS_S3_PATH": schedule.prefix,
        "EXEC_LABEL": exec_label(settings, schedule.source),
        "NOTIFICATION_URLS_FILE": notification_urls_path(schedule),
        "NOTIFICATION_LEVEL": "info",
    }
    return "".join(f'{key}="{value}"\n' for key, value in values.items())


def schedule_env_path(schedule: Schedule) -> str:
    """Where the runner reads one schedule's env file."""
    return f"{CONF_DIR}/{schedule.name}.env"


def bucket_environment(bucket: str) -> str:
    """The runner's bucket, which every schedule shares."""
    return f"AWS_S3_BUCKET_NAME={bucket}"


def runner_environment(endpoint: str) -> list[str]:
    """What else every schedule shares: endpoint, credentials from files, gzip archives."""
    return [
        f"AWS_ENDPOINT={endpoint}",
        f"AWS_ACCESS_KEY_ID_FILE={ACCESS_KEY_ID_PATH}",
        f"AWS_SECRET_ACCESS_KEY_FILE={SECRET_ACCESS_KEY_PATH}",
        "BACKUP_COMPRESSION=gz",
        # Retention is the bucket's lifecycle; the writer may not delete, so never prune.
        "BACKUP_RETENTION_DAYS=-1",
    ]


def render_notification_template() -> str:
    """The Go templates that turn a run's outcome into Pushgateway text exposition.

    A failed run only sets `backup_last_run_failed`: the Pushgateway keeps the last success
    time of the group, since a POST replaces only the metrics it names.
    """
    return (
        '{{ define "title_success" }}backup succeeded{{ end }}\n'
        '{{ define "body_success" -}}\n'
        "# HELP backup_last_success_timestamp_seconds When the last successful run ended.\n"
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        "backup_last_success_timestamp_seconds {{ .Stats.EndTime.Unix }}\n"
        "# HELP backup_last_run_failed 1 when the last run failed, 0 when it succeeded.\n"
        "# TYPE backup_last_run_failed gauge\n"
        "backup_last_run_failed 0\n"
        "# HELP backup_size_bytes Size of the last successful archive.\n"
        "# TYPE backup_size_bytes gauge\n"
        "backup_size_bytes {{ .Stats.BackupFile.Size }}\n"
        "{{ end }}\n"
        '{{ define "title_failure" }}backup failed{{ end }}\n'
        '{{ define "body_failure" -}}\n'
        "# HELP backup_last_run_failed 1 when the last run failed, 0 when it succeeded.\n"
        "# TYPE backup_last_run_failed gauge\n"
        "backup_last_run_failed 1\n"
        "{{ end }}\n"
    )


def dump_command() -> list[str]:
    """What the runner executes in the dump container before archiving: a fresh pg_dump.

    It writes next to the old dump and renames, so an archive never holds half a dump.
    """
    partial = f"{DUMPS_DIR}/{DUMP_FILE}.partial"
    script = (
        "set -eu; "
        f'pg_dump --format=custom --file={partial} "$(cat {DATABASE_URL_PATH})"; '
        f"mv {partial} {DUMPS_DIR}/{DUMP_FILE}"
    )
    return ["/bin/sh", "-c", script]


def dump_labels(settings: Settings) -> list[tuple[str, str]]:
    """The labels that make the runner dump the database before each postgres archive."""
    return [
        ("docker-volume-backup.archive-pre", shlex.join(dump_command())),
        ("docker-volume-backup.exec-label", exec_label(settings, "postgres")),
    ]


def idle_command() -> list[str]:
    """Keeps the dump container alive between dumps and stops at once on SIGTERM."""
    return ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 3600 & wait $!; done"]


def volume_mount_path(name: str) -> str:
    """Where the runner sees one state volume, under the `volumes` source."""
    return f"{SOURCES_DIR}/volumes/{name}"


def restore_command(bucket: str, tier: str = "daily") -> Sequence[str]:
    """The documented command that fetches and unpacks the newest database dump."""
    return [
        ".venv/bin/python",
        "scripts/restore.py",
        "--bucket",
        bucket,
        "--tier",
        tier,
        "--into",
        "restore",
    ]
