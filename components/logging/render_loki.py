"""Loki's configuration: one process, tsdb/v13 schema, compactor retention and the ruler."""

from __future__ import annotations

from typing import Any

import yaml

from components.logging import logql
from config.base import seconds
from config.logging import SchemaPeriod
from config.settings import Settings

CONFIG_PATH = "/etc/loki/loki.yaml"
DATA_DIR = "/loki"
RULES_DIR = "/etc/loki/rules"
# With authentication off Loki has one tenant, which it names `fake`; its rules live in a
# directory of that name.
TENANT = "fake"
HTTP_PORT = 3100
GRPC_PORT = 9095
ALERTMANAGER_URL = "http://alertmanager:9093"
USER = "10001"
"""The uid the official image runs Loki as; it owns the image's /loki directory."""

# The S3 credentials reach Loki as environment variables, expanded into the configuration at
# start-up, so the file itself never holds them.
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"

# Loki names the chunk store of a period and the storage_config key it reads differently.
_STORAGE_KEYS = {"filesystem": "filesystem", "s3": "aws"}
INDEX_PERIOD = "24h"
AUDIT_LABEL = "audit"

# Limits for a small company: a few dozen containers, a few MB/s at peak, a handful of people
# querying. They keep one runaway query or a log storm from starving the single process.
MAX_STREAMS = 5000
MAX_QUERY_SERIES = 500
MAX_ENTRIES_PER_QUERY = 5000
MAX_QUERY_PARALLELISM = 8
QUERY_TIMEOUT = "1m"
MAX_LINE_SIZE = "256KB"
PER_STREAM_RATE = "3MB"
PER_STREAM_BURST = "15MB"
REJECT_OLDER_THAN = "168h"
RESULTS_CACHE_MB = 100


def loki_flags() -> list[str]:
    """Loki's command line: the configuration file, with `${VAR}` expanded from the environment."""
    return [f"-config.file={CONFIG_PATH}", "-config.expand-env=true"]


def render_loki_config(settings: Settings, *, bucket: str | None = None) -> str:
    """The text of Loki's configuration file."""
    return yaml.safe_dump(
        loki_config(settings, bucket=bucket), sort_keys=True, default_flow_style=False
    )


def loki_config(settings: Settings, *, bucket: str | None = None) -> dict[str, Any]:
    """Loki's configuration as a Python structure."""
    logging = settings.logging
    periods = logging.schema_periods
    if any(period.object_store == "s3" for period in periods) and not bucket:
        raise ValueError("a schema period stores in s3, so Loki needs its bucket name")

    return {
        "auth_enabled": False,
        "analytics": {"reporting_enabled": False},
        "server": {
            "http_listen_port": HTTP_PORT,
            "grpc_listen_port": GRPC_PORT,
            "log_level": "info",
            # JSON, so Alloy parses Loki's own level like any other service's.
            "log_format": "json",
        },
        "common": {
            "path_prefix": DATA_DIR,
            "replication_factor": 1,
            "instance_addr": "127.0.0.1",
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {"configs": [period_config(period) for period in periods]},
        "storage_config": storage_config(settings, bucket),
        "compactor": compactor_config(settings),
        "limits_config": limits_config(settings),
        "query_range": {
            "results_cache": {
                "cache": {"embedded_cache": {"enabled": True, "max_size_mb": RESULTS_CACHE_MB}}
            }
        },
        "ruler": ruler_config(),
    }


def period_config(period: SchemaPeriod) -> dict[str, Any]:
    """One entry of `schema_config.configs`."""
    return {
        "from": period.starts.isoformat(),
        "store": period.store,
        "object_store": period.object_store,
        "schema": period.schema_version,
        "index": {"prefix": "index_", "period": INDEX_PERIOD},
    }


def storage_config(settings: Settings, bucket: str | None) -> dict[str, Any]:
    """Where the index shipper works and where each period's object store lives."""
    stores = {period.object_store for period in settings.logging.schema_periods}
    config: dict[str, Any] = {
        "tsdb_shipper": {
            "active_index_directory": f"{DATA_DIR}/tsdb-index",
            "cache_location": f"{DATA_DIR}/tsdb-cache",
        },
    }
    # Older periods stay readable from the store they were written to.
    if "filesystem" in stores:
        config[_STORAGE_KEYS["filesystem"]] = {"directory": f"{DATA_DIR}/chunks"}
    if "s3" in stores:
        s3 = settings.logging.s3
        if s3 is None:
            raise ValueError("a schema period stores in s3, so logging.s3 must name its region")
        config[_STORAGE_KEYS["s3"]] = {
            "bucketnames": bucket,
            "region": s3.region,
            "access_key_id": "${" + ACCESS_KEY_ENV + "}",
            "secret_access_key": "${" + SECRET_KEY_ENV + "}",
        }
    return config


def compactor_config(settings: Settings) -> dict[str, Any]:
    """The compactor: compaction plus retention, deleting from the newest period's store."""
    newest = settings.logging.schema_periods[-1]
    return {
        "working_directory": f"{DATA_DIR}/compactor",
        "compaction_interval": "10m",
        "retention_enabled": True,
        "retention_delete_delay": "2h",
        "retention_delete_worker_count": 150,
        # Loki 3 refuses to start with retention on unless this names the store.
        "delete_request_store": newest.object_store,
    }


def limits_config(settings: Settings) -> dict[str, Any]:
    """Retention, structured metadata and the ingestion and query limits."""
    logging = settings.logging
    return {
        "retention_period": hours(logging.retention_for(settings.environment)),
        "retention_stream": [
            {
                "selector": audit_selector(),
                "priority": 1,
                "period": hours(logging.audit_retention_for(settings.environment)),
            }
        ],
        "allow_structured_metadata": True,
        "ingestion_rate_mb": logging.ingestion_rate_mb,
        "ingestion_burst_size_mb": logging.ingestion_burst_mb,
        "per_stream_rate_limit": PER_STREAM_RATE,
        "per_stream_rate_limit_burst": PER_STREAM_BURST,
        "max_global_streams_per_user": MAX_STREAMS,
        "max_line_size": MAX_LINE_SIZE,
        "max_line_size_truncate": True,
        "reject_old_samples": True,
        "reject_old_samples_max_age": REJECT_OLDER_THAN,
        "max_query_series": MAX_QUERY_SERIES,
        "max_entries_limit_per_query": MAX_ENTRIES_PER_QUERY,
        "max_query_parallelism": MAX_QUERY_PARALLELISM,
        "query_timeout": QUERY_TIMEOUT,
        # A query never reaches further back than the longest retention.
        "max_query_lookback": hours(logging.audit_retention_for(settings.environment)),
        "volume_enabled": True,
    }


def ruler_config() -> dict[str, Any]:
    """The ruler: rule files from a local directory, alerts to the stack's Alertmanager."""
    return {
        "alertmanager_url": ALERTMANAGER_URL,
        "enable_api": True,
        "evaluation_interval": "1m",
        "poll_interval": "1m",
        "rule_path": f"{DATA_DIR}/rules-temp",
        "storage": {"type": "local", "local": {"directory": RULES_DIR}},
        "wal": {"dir": f"{DATA_DIR}/ruler-wal"},
    }


def audit_selector() -> str:
    """The stream selector of audit events, which Alloy labels `audit="true"`."""
    return logql.selector({AUDIT_LABEL: "true"})


def hours(duration: str) -> str:
    """A whole-hour duration as Loki writes it in its own examples, such as `720h`."""
    total = seconds(duration)
    if total % 3600:
        raise ValueError(f"{duration} is not a whole number of hours")
    return f"{int(total // 3600)}h"
