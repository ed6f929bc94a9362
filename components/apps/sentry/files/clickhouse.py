"""ClickHouse's config.d/sentry.xml and users.d/default-password.xml (upstream clickhouse/ at 26.8.0).

Differences from upstream, each justified:
- Root element `<clickhouse>` instead of the legacy `<yandex>` (both accepted; the new one is
  what current ClickHouse documents).
- Memory: upstream sets `max_server_memory_usage_to_ram_ratio` from MAX_MEMORY_USAGE_RATIO=0.3
  of the *host*; our container has a limit (ClickHouse reads its cgroup limit as its RAM), so the
  ratio is a share of that limit and `max_server_memory_usage` states the same cap in bytes, so
  the cap holds even where cgroup detection fails. Kafka's heap and this cap are sized together
  by the caller from the same memory budget.
- System logs: upstream removes twelve system log tables; we remove the same ones, plus
  query_metric_log (per-query metrics every second: the same growth upstream removed metric_log
  for) and opentelemetry_span_log (written only when tracing is turned on, which nobody does here).
  The logs ClickHouse still keeps get a TTL so none grows without bound: crash_log, backup_log and
  s3queue_log (no TTL by default), blob_storage_log and asynchronous_insert_log (already
  expiring by default; restated so a base-image change cannot drop it).
- users.d: the `default` user gets a password (upstream: empty), read from the environment.
"""

from __future__ import annotations

from . import env

REMOVED_LOGS = (
    # upstream's list
    "query_thread_log", "query_log", "query_views_log", "text_log", "trace_log", "metric_log",
    "asynchronous_metric_log", "session_log", "part_log", "processors_profile_log", "error_log",
    "latency_log",
    # ours
    "query_metric_log", "opentelemetry_span_log",
)

# Logs kept, each with a retention (days) so its table cannot fill the disk.
KEPT_LOG_TTL_DAYS = {
    "crash_log": 30,
    "backup_log": 30,
    "s3queue_log": 7,
    "blob_storage_log": 7,
    "asynchronous_insert_log": 3,
}


def server_memory_bytes(ctx) -> int:
    return int(ctx.clickhouse_memory_limit_mb * ctx.clickhouse_memory_ratio) * 1024 * 1024


def render_clickhouse_config(ctx) -> str:
    removed = "".join(f'    <{name} remove="remove"/>\n' for name in REMOVED_LOGS)
    kept = "".join(
        f"    <{name}>\n        <ttl>event_date + INTERVAL {days} DAY DELETE</ttl>\n    </{name}>\n"
        for name, days in KEPT_LOG_TTL_DAYS.items()
    )
    return (
        "<!-- Rendered by error-tracking. -->\n"
        "<clickhouse>\n"
        f"    <max_server_memory_usage_to_ram_ratio>{ctx.clickhouse_memory_ratio}"
        "</max_server_memory_usage_to_ram_ratio>\n"
        f"    <max_server_memory_usage>{server_memory_bytes(ctx)}</max_server_memory_usage>\n"
        "    <logger>\n"
        "        <level>warning</level>\n"
        "        <console>true</console>\n"
        "    </logger>\n"
        + removed
        + kept
        + "    <allow_nullable_key>1</allow_nullable_key>\n"
        "    <profiles>\n"
        "        <default>\n"
        "            <log_queries>0</log_queries>\n"
        "            <log_query_threads>0</log_query_threads>\n"
        "        </default>\n"
        "    </profiles>\n"
        "    <merge_tree>\n"
        "        <enable_mixed_granularity_parts>1</enable_mixed_granularity_parts>\n"
        "        <!-- Tolerates the broken parts an unclean stop can leave (self-hosted #2832). -->\n"
        "        <max_suspicious_broken_parts>100</max_suspicious_broken_parts>\n"
        "    </merge_tree>\n"
        "</clickhouse>\n"
    )


def render_clickhouse_users() -> str:
    """The `default` user's password comes from the container's environment, never from here."""
    return (
        "<!-- Rendered by error-tracking. -->\n"
        "<clickhouse>\n"
        "    <users>\n"
        "        <default>\n"
        f'            <password from_env="{env.CLICKHOUSE_DEFAULT_PASSWORD}"/>\n'
        "            <networks>\n"
        "                <ip>::/0</ip>\n"
        "            </networks>\n"
        "        </default>\n"
        "    </users>\n"
        "</clickhouse>\n"
    )


def render_clickhouse_backup_disk(path: str) -> str:
    """config.d/backups.xml: the local disk `backups` at `path` (a directory on the backups volume)
    and permission to back up to it and nowhere else (ClickHouse docs, "BACKUP / RESTORE to disk":
    storage_configuration.disks + backups.allowed_disk/allowed_path). The image's entrypoint
    creates every configured disk path and hands it to the clickhouse user."""
    directory = path.rstrip("/") + "/"
    return (
        "<!-- Rendered by error-tracking: the disk BACKUP and RESTORE write and read. -->\n"
        "<clickhouse>\n"
        "    <storage_configuration>\n"
        "        <disks>\n"
        "            <backups>\n"
        "                <type>local</type>\n"
        f"                <path>{directory}</path>\n"
        "            </backups>\n"
        "        </disks>\n"
        "    </storage_configuration>\n"
        "    <backups>\n"
        "        <allowed_disk>backups</allowed_disk>\n"
        f"        <allowed_path>{directory}</allowed_path>\n"
        "    </backups>\n"
        "</clickhouse>\n"
    )
