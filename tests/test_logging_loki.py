"""Loki's configuration: documented keys only, and the traps people hit upgrading to Loki 3.

No Loki binary exists in the registries reachable here (`loki -verify-config` cannot run), so
every key is checked against the configuration reference of Loki 3.7 (docs/sources/shared/
configuration.md), transcribed below for the blocks this program writes.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.logging import render_loki, render_rules
from components.logging.render_loki import loki_config, render_loki_config
from preview import run_preview
from preview.harness import stack_settings
from tests.conftest import preview_of
from tests.test_logging_settings import (
    DEPLOYED_SCHEMA_PERIODS,
    S3,
    SWITCH_TO_S3,
    settings_with_logging,
)

Schema = dict[str, Any]
LEAF = None

_CACHE = {
    "default_validity": LEAF,
    "background": LEAF,
    "memcached": LEAF,
    "memcached_client": LEAF,
    "redis": LEAF,
    "embedded_cache": {"enabled": LEAF, "max_size_mb": LEAF, "max_size_items": LEAF, "ttl": LEAF},
}
_RING = {
    "kvstore": {"store": LEAF, "prefix": LEAF, "consul": LEAF, "etcd": LEAF, "multi": LEAF},
    "heartbeat_period": LEAF,
    "heartbeat_timeout": LEAF,
    "tokens_file_path": LEAF,
    "zone_awareness_enabled": LEAF,
    "num_tokens": LEAF,
    "replication_factor": LEAF,
    "instance_id": LEAF,
    "instance_interface_names": LEAF,
    "instance_port": LEAF,
    "instance_addr": LEAF,
    "instance_availability_zone": LEAF,
    "instance_enable_ipv6": LEAF,
}
_S3_STORAGE = {
    key: LEAF
    for key in (
        "s3",
        "s3forcepathstyle",
        "bucketnames",
        "endpoint",
        "region",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "insecure",
        "chunk_delimiter",
        "http_config",
        "signature_version",
        "storage_class",
        "sse",
        "backoff_config",
        "disable_dualstack",
    )
}
_SHIPPER = {
    key: LEAF
    for key in (
        "active_index_directory",
        "cache_location",
        "cache_ttl",
        "resync_interval",
        "query_ready_num_days",
        "index_gateway_client",
        "ingestername",
        "mode",
        "ingesterdbretainperiod",
    )
}
_LIMITS = {
    key: LEAF
    for key in [
        "ingestion_rate_strategy",
        "ingestion_rate_mb",
        "ingestion_burst_size_mb",
        "max_label_name_length",
        "max_label_value_length",
        "max_label_names_per_series",
        "reject_old_samples",
        "reject_old_samples_max_age",
        "creation_grace_period",
        "max_line_size",
        "max_line_size_truncate",
        "max_line_size_truncate_identifier",
        "increment_duplicate_timestamp",
        "discover_service_name",
        "discover_log_levels",
        "log_level_fields",
        "use_owned_stream_count",
        "max_streams_per_user",
        "max_global_streams_per_user",
        "unordered_writes",
        "per_stream_rate_limit",
        "per_stream_rate_limit_burst",
        "max_chunks_per_query",
        "max_query_series",
        "max_query_lookback",
        "max_query_length",
        "max_query_range",
        "max_query_parallelism",
        "tsdb_max_query_parallelism",
        "tsdb_max_bytes_per_shard",
        "cardinality_limit",
        "max_streams_matchers_per_query",
        "max_concurrent_tail_requests",
        "max_entries_limit_per_query",
        "max_cache_freshness_per_query",
        "max_metadata_cache_freshness",
        "max_stats_cache_freshness",
        "max_queriers_per_tenant",
        "max_query_capacity",
        "query_ready_index_num_days",
        "query_timeout",
        "split_queries_by_interval",
        "split_metadata_queries_by_interval",
        "split_instant_metric_queries_by_interval",
        "min_sharding_lookback",
        "max_query_bytes_read",
        "max_querier_bytes_read",
        "volume_enabled",
        "volume_max_series",
        "ruler_max_rules_per_rule_group",
        "ruler_max_rule_groups_per_tenant",
        "deletion_mode",
        "retention_period",
        "retention_stream",
        "per_tenant_override_config",
        "per_tenant_override_period",
        "shard_streams",
        "blocked_queries",
        "required_labels",
        "minimum_labels_number",
        "allow_structured_metadata",
        "max_structured_metadata_size",
        "max_structured_metadata_entries_count",
        "otlp_config",
        "block_ingestion_until",
        "enforced_labels",
    ]
}
_LIMITS["retention_stream"] = [{"selector": LEAF, "priority": LEAF, "period": LEAF}]

LOKI_3_DOCUMENTED: Schema = {
    "target": LEAF,
    "auth_enabled": LEAF,
    "ballast_bytes": LEAF,
    "analytics": {"reporting_enabled": LEAF, "usage_stats_url": LEAF, "proxy_url": LEAF},
    "server": {
        key: LEAF
        for key in [
            "http_listen_network",
            "http_listen_address",
            "http_listen_port",
            "http_listen_conn_limit",
            "grpc_listen_network",
            "grpc_listen_address",
            "grpc_listen_port",
            "grpc_listen_conn_limit",
            "register_instrumentation",
            "graceful_shutdown_timeout",
            "http_server_read_timeout",
            "http_server_write_timeout",
            "http_server_idle_timeout",
            "grpc_server_max_recv_msg_size",
            "grpc_server_max_send_msg_size",
            "log_format",
            "log_level",
            "log_source_ips_enabled",
            "http_path_prefix",
        ]
    },
    "common": {
        "path_prefix": LEAF,
        "storage": LEAF,
        "persist_tokens": LEAF,
        "replication_factor": LEAF,
        "ring": _RING,
        "instance_interface_names": LEAF,
        "instance_addr": LEAF,
        "compactor_address": LEAF,
        "compactor_grpc_address": LEAF,
    },
    "schema_config": {
        "configs": [
            {
                "from": LEAF,
                "store": LEAF,
                "object_store": LEAF,
                "schema": LEAF,
                "index": {"path_prefix": LEAF, "prefix": LEAF, "period": LEAF, "tags": LEAF},
                "chunks": LEAF,
                "row_shards": LEAF,
            }
        ]
    },
    "storage_config": {
        "aws": _S3_STORAGE,
        "filesystem": {"directory": LEAF},
        "tsdb_shipper": _SHIPPER,
        "boltdb_shipper": _SHIPPER,
        "named_stores": LEAF,
        "hedging": LEAF,
        "object_prefix": LEAF,
        "index_queries_cache_config": LEAF,
        "max_parallel_get_chunk": LEAF,
        "max_chunk_batch_size": LEAF,
    },
    "compactor": {
        key: LEAF
        for key in [
            "working_directory",
            "compaction_interval",
            "apply_retention_interval",
            "retention_enabled",
            "retention_delete_delay",
            "retention_delete_worker_count",
            "retention_table_timeout",
            "retention_backoff_config",
            "delete_request_store",
            "delete_request_store_key_prefix",
            "delete_request_store_db_type",
            "delete_batch_size",
            "delete_request_cancel_period",
            "delete_max_interval",
            "max_compaction_parallelism",
            "upload_parallelism",
            "compactor_ring",
            "tables_to_compact",
            "skip_latest_n_tables",
        ]
    },
    "limits_config": _LIMITS,
    "query_range": {
        "align_queries_with_step": LEAF,
        "results_cache": {"cache": _CACHE, "compression": LEAF},
        "cache_results": LEAF,
        "max_retries": LEAF,
        "parallelise_shardable_queries": LEAF,
    },
    "ruler": {
        "external_url": LEAF,
        "datasource_uid": LEAF,
        "external_labels": LEAF,
        "evaluation_interval": LEAF,
        "poll_interval": LEAF,
        "storage": {"type": LEAF, "local": {"directory": LEAF}, "s3": LEAF},
        "rule_path": LEAF,
        "alertmanager_url": LEAF,
        "enable_alertmanager_discovery": LEAF,
        "alertmanager_refresh_interval": LEAF,
        "enable_alertmanager_v2": LEAF,
        "notification_queue_capacity": LEAF,
        "notification_timeout": LEAF,
        "for_outage_tolerance": LEAF,
        "for_grace_period": LEAF,
        "resend_delay": LEAF,
        "enable_sharding": LEAF,
        "ring": _RING,
        "flush_period": LEAF,
        "enable_api": LEAF,
        "wal": {"dir": LEAF, "truncate_frequency": LEAF, "min_age": LEAF, "max_age": LEAF},
        "evaluation": LEAF,
    },
    "ingester": LEAF,
    "querier": LEAF,
    "frontend": LEAF,
    "query_scheduler": LEAF,
    "memberlist": LEAF,
    "runtime_config": LEAF,
    "tracing": LEAF,
}
# Keys Loki 3 removed; a file that still has one stops Loki at start-up.
REMOVED_IN_LOKI_3 = {
    "shared_store",
    "shared_store_key_prefix",
    "enforce_metric_name",
    "max_look_back_period",
    "table_manager",
}


def undocumented_keys(document: Any, schema: Any, path: str = "") -> list[str]:
    """Every key of `document` that the schema does not list, as dotted paths."""
    if schema is LEAF:
        return []
    if isinstance(schema, list):
        return [
            found
            for index, item in enumerate(document)
            for found in undocumented_keys(item, schema[0], f"{path}[{index}]")
        ]
    found: list[str] = []
    for key, value in document.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            found.append(where)
        else:
            found.extend(undocumented_keys(value, schema[key], where))
    return found


def all_keys(document: Any) -> set[str]:
    """Every mapping key anywhere in the document."""
    if isinstance(document, dict):
        return set(document) | {key for value in document.values() for key in all_keys(value)}
    if isinstance(document, list):
        return {key for item in document for key in all_keys(item)}
    return set()


def loki_file(stack: str) -> dict[str, Any]:
    """The Loki configuration a stack's Loki container receives."""
    text = preview_of(stack).file(f"{stack}-loki", render_loki.CONFIG_PATH)
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@pytest.fixture(scope="module")
def s3_previews() -> dict[str, Any]:
    """Prod and staging switched to S3 storage, as their stack files would."""
    return {
        stack: run_preview(
            stack,
            overrides={
                "logging": {
                    **SWITCH_TO_S3,
                    "s3": {**S3, "credentials_secret": f"observability/{stack}/loki-s3"},
                }
            },
        )
        for stack in ("prod", "staging")
    }


def test_every_key_is_in_loki_3s_configuration_reference(any_stack: str) -> None:
    """Loki refuses unknown keys; every key written is one Loki 3.7 documents."""
    assert undocumented_keys(loki_file(any_stack), LOKI_3_DOCUMENTED) == []


def test_the_s3_configuration_uses_documented_keys_too() -> None:
    """The object-storage variant is checked against the same reference."""
    settings = settings_with_logging("prod", **SWITCH_TO_S3)

    assert undocumented_keys(loki_config(settings, bucket="b"), LOKI_3_DOCUMENTED) == []


def test_no_key_that_loki_3_removed_is_written(any_stack: str) -> None:
    """`shared_store` and friends are gone in Loki 3; the file must not carry them."""
    assert all_keys(loki_file(any_stack)) & REMOVED_IN_LOKI_3 == set()


def _delete_request_store_names_the_newest_store(config: dict[str, Any]) -> None:
    compactor = config["compactor"]
    newest = config["schema_config"]["configs"][-1]
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == newest["object_store"]
    assert "shared_store" not in compactor
    assert "shared_store" not in config["storage_config"]["tsdb_shipper"]


def _newest_period_is_tsdb_v13(config: dict[str, Any]) -> None:
    assert config["limits_config"]["allow_structured_metadata"] is True
    periods = config["schema_config"]["configs"]
    newest = max(periods, key=lambda period: period["from"])
    assert newest is periods[-1]
    assert (newest["store"], newest["schema"]) == ("tsdb", "v13")
    assert newest["index"]["period"] == "24h"


def test_retention_names_the_delete_request_store(deployed_stack: str) -> None:
    """Loki 3 with retention on refuses to start unless the compactor names its store."""
    _delete_request_store_names_the_newest_store(loki_file(deployed_stack))


def test_structured_metadata_runs_on_a_tsdb_v13_newest_period(deployed_stack: str) -> None:
    """Loki 3 refuses structured metadata unless the newest period is tsdb with schema v13."""
    _newest_period_is_tsdb_v13(loki_file(deployed_stack))


def test_both_traps_stay_covered_after_switching_to_s3(s3_previews: dict[str, Any]) -> None:
    """With S3 the compactor deletes from S3, and the appended S3 period is tsdb/v13."""
    for stack, preview in s3_previews.items():
        config = yaml.safe_load(preview.file(f"{stack}-loki", render_loki.CONFIG_PATH))
        _delete_request_store_names_the_newest_store(config)
        _newest_period_is_tsdb_v13(config)
        assert config["compactor"]["delete_request_store"] == "s3"


def test_the_s3_switch_appends_a_period_and_keeps_the_filesystem_one_readable(
    s3_previews: dict[str, Any],
) -> None:
    """The deployed filesystem period stays as it was, and its chunks stay on the volume."""
    for stack, preview in s3_previews.items():
        config = yaml.safe_load(preview.file(f"{stack}-loki", render_loki.CONFIG_PATH))
        periods = config["schema_config"]["configs"]
        assert [
            {key: period[key] for key in ("from", "store", "object_store", "schema")}
            for period in periods[:1]
        ] == DEPLOYED_SCHEMA_PERIODS[stack]
        assert config["storage_config"]["filesystem"] == {"directory": "/loki/chunks"}
        aws = config["storage_config"]["aws"]
        assert aws["bucketnames"] == f"observability-{stack}-loki-123456789012"
        assert aws["region"] == S3["region"]


def test_the_s3_credentials_are_environment_references_never_values(
    s3_previews: dict[str, Any],
) -> None:
    """The file holds `${AWS_...}` placeholders; the values reach Loki as secret variables."""
    for stack, preview in s3_previews.items():
        text = preview.file(f"{stack}-loki", render_loki.CONFIG_PATH)
        aws = yaml.safe_load(text)["storage_config"]["aws"]
        assert aws["access_key_id"] == "${AWS_ACCESS_KEY_ID}"
        assert aws["secret_access_key"] == "${AWS_SECRET_ACCESS_KEY}"
        assert text.count("$") == 2


def test_filesystem_stacks_have_nothing_for_the_environment_to_expand(any_stack: str) -> None:
    """`-config.expand-env` finds no `$` to replace in a filesystem stack's file."""
    text = preview_of(any_stack).file(f"{any_stack}-loki", render_loki.CONFIG_PATH)

    assert "$" not in text
    assert "aws" not in yaml.safe_load(text)["storage_config"]


@pytest.mark.parametrize(("stack", "hours"), [("prod", "720h"), ("staging", "168h")])
def test_retention_is_enforced_by_the_compactor_per_environment(stack: str, hours: str) -> None:
    """Prod keeps 30 days, staging 7; audit events keep a year in a stream of their own."""
    limits = loki_file(stack)["limits_config"]

    assert limits["retention_period"] == hours
    assert limits["retention_stream"] == [
        {"selector": '{audit="true"}', "priority": 1, "period": "8760h"}
    ]
    assert limits["max_query_lookback"] == "8760h"


def test_ingestion_and_query_limits_are_set_for_a_small_company(any_stack: str) -> None:
    """Bounded ingestion per tenant and stream, bounded queries, old samples refused."""
    limits = loki_file(any_stack)["limits_config"]

    assert limits["ingestion_rate_mb"] == 4
    assert limits["ingestion_burst_size_mb"] == 8
    assert limits["max_global_streams_per_user"] <= 10000
    assert limits["max_query_series"] <= 1000
    assert limits["max_entries_limit_per_query"] <= 5000
    assert limits["reject_old_samples"] is True


def test_the_ruler_reads_the_rule_file_and_alerts_through_the_stack_alertmanager(
    any_stack: str,
) -> None:
    """The ruler evaluates the uploaded LogQL rules and sends to alertmanager:9093."""
    ruler = loki_file(any_stack)["ruler"]
    files = preview_of(any_stack).files()

    assert ruler["alertmanager_url"] == "http://alertmanager:9093"
    assert ruler["storage"] == {"type": "local", "local": {"directory": render_loki.RULES_DIR}}
    assert render_rules.RULES_PATH.startswith(f"{render_loki.RULES_DIR}/{render_loki.TENANT}/")
    assert (f"{any_stack}-loki", render_rules.RULES_PATH) in files
    assert loki_file(any_stack)["auth_enabled"] is False


def test_the_config_is_the_same_bytes_on_every_render(any_stack: str) -> None:
    """Rendering twice gives identical text: no dates of today, no unordered keys."""
    settings = stack_settings(any_stack)

    assert render_loki_config(settings) == render_loki_config(settings)
    assert render_loki_config(settings) == preview_of(any_stack).file(
        f"{any_stack}-loki", render_loki.CONFIG_PATH
    )


def test_an_s3_period_without_a_bucket_is_refused() -> None:
    """Rendering an S3 period needs the bucket's name."""
    with pytest.raises(ValueError, match="needs its bucket name"):
        loki_config(settings_with_logging("prod", **SWITCH_TO_S3))
