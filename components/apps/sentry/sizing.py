"""Memory and CPU limits per Sentry service, the floor below which each is refused, and where
each figure comes from.

Upstream gives host minimums only (getsentry/self-hosted@26.8.0:install/_min-requirements.sh:
7000 MB for errors-only, 14000 MB for feature-complete, as seen inside a container) and no
per-service figures. The defaults below add up to at most those minimums, so a host of that size
is never overcommitted; each comes from the process it limits:
- self-capping processes are sized by what they are told to use: Kafka's JVM heap and
  ClickHouse's memory ratio are derived from their limits (`kafka_heap_mb`,
  `clickhouse_max_memory_ratio`), Valkey's maxmemory likewise (`redis_maxmemory_mb`);
- Python processes (Sentry, Snuba) cannot shrink, so they get what they were measured to use:
  docker stats posted in getsentry/self-hosted issues #2539 (24.11.2: kafka 1.40 GiB with its
  default 1 GB heap, web 1.08 GiB, attachments-consumer 637 MiB, worker 574 MiB,
  generic-metrics-consumer 407 MiB), #2064 (post-process-forwarder 102 MiB, Snuba subscription
  consumers 71-97 MiB, worker 357 MiB), #1719 and #3330 (nginx 7-12 MiB, relay 34 MiB idle);
- Rust processes (Relay, Snuba's rust-consumer, taskbroker, Symbolicator) are small when idle.
CPU limits are caps, not reservations: CPU is compressible, so their sum may exceed the host's
(upstream's floors: 2 CPUs errors-only, 4 feature-complete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from components.spec import Resources
from components.stores import valkey_maxmemory_mb

from components.apps.sentry.catalog import ERRORS_ONLY, FEATURE_COMPLETE
from components.apps.sentry.files import kafka as kafka_files

# install/_min-requirements.sh MIN_RAM_HARD (MB): the most a profile's defaults may add up to,
# with the operations' containers (backups, drills, off-site copy, watchdog: components.operations;
# OPERATIONS_MB at the most, everything on).
HOST_MEMORY_MB = {ERRORS_ONLY: 7000, FEATURE_COMPLETE: 14000}
OPERATIONS_MB = 416
HOST_CPUS = {ERRORS_ONLY: 2, FEATURE_COMPLETE: 4}

DEFAULT_TASKWORKER_CONCURRENCY = 4  # getsentry/self-hosted@26.8.0:.env SENTRY_TASKWORKER_CONCURRENCY
DEFAULT_LAUNCHPAD_CONCURRENCY = 4  # docker-compose.yml ${LAUNCHPAD_TASKWORKER_CONCURRENCY:-4}


@dataclass(frozen=True)
class Size:
    memory_mb: int
    cpu: float
    floor_mb: int
    source: str


def _python(memory_mb: int, floor_mb: int, source: str, cpu: float = 0.5) -> Size:
    return Size(memory_mb, cpu, floor_mb, source)


_RUST_CONSUMER = Size(112, 0.25, 96, "snuba rust-consumer: the Python CLI stays resident (~70-95 MiB, #2064) "
                                     "around the Rust processor")
_SNUBA_PYTHON = Size(112, 0.25, 96, "Python Snuba process: 71-97 MiB measured (#2064)")
_SENTRY_CONSUMER = _python(320, 256, "Sentry consumer: 407-637 MiB under load (#2539), 102 MiB idle (#2064)")
_SENTRY_SMALL_CONSUMER = _python(320, 256, "Sentry consumer with little traffic (same process as above)")

# Errors-only defaults; FEATURE_COMPLETE_DEFAULTS below adds its services and raises a few.
DEFAULTS: Mapping[str, Size] = {
    "smtp": Size(32, 0.1, 24, "exim relay: a few MiB resident"),
    "memcached": Size(80, 0.25, 80, "memcached's default item memory -m 64 MB plus connections"),
    "redis": Size(192, 0.5, 128, "Valkey; maxmemory is half the limit (redis_maxmemory_mb)"),
    "postgres": Size(320, 1.0, 256, "shared_buffers 128 MB (image default) + ~20 backends pooled by pgbouncer"),
    "pgbouncer": Size(32, 0.25, 16, "pgbouncer: ~2 kB per client connection"),
    "kafka": Size(640, 1.0, 512, "JVM: heap is half the limit (kafka_heap_mb); 1.40 GiB at a 1 GB heap (#2539)"),
    "clickhouse": Size(768, 1.0, 768, "ClickHouse caps itself at clickhouse_max_memory_ratio of this limit"),
    "seaweedfs": Size(128, 0.25, 96, "weed mini: one Go process (master, volume, filer, S3)"),
    "nginx": Size(32, 0.25, 16, "nginx: 7-12 MiB measured (#1719, #3330)"),
    "snuba-api": Size(160, 0.5, 128, "Snuba API: 1 worker x 8 threads (snuba settings_self_hosted API_*)"),
    "snuba-errors-consumer": _RUST_CONSUMER,
    "snuba-outcomes-consumer": _RUST_CONSUMER,
    "snuba-outcomes-billing-consumer": _RUST_CONSUMER,
    "snuba-group-attributes-consumer": _RUST_CONSUMER,
    "snuba-replacer": _SNUBA_PYTHON,
    "snuba-subscription-consumer-events": _SNUBA_PYTHON,
    "snuba-subscription-consumer-eap-items": _SNUBA_PYTHON,
    "symbolicator": Size(192, 0.5, 128, "Symbolicator (Rust); debug files are mmapped page cache"),
    "symbolicator-cleanup": Size(32, 0.1, 24, "Symbolicator cleanup: an hourly pass over the cache"),
    "relay": Size(160, 0.5, 128, "Relay (Rust): 34 MiB idle (#1719); envelopes buffered in memory"),
    "taskbroker": Size(96, 0.25, 64, "taskbroker (Rust) with its SQLite inflight store"),
    "web": _python(1024, 768, "uWSGI 3 workers x 4 threads (sentry.conf SENTRY_WEB_OPTIONS): 1.08 GiB (#2539)",
                   cpu=1.0),
    "events-consumer": _SENTRY_CONSUMER,
    "attachments-consumer": _SENTRY_CONSUMER,
    "post-process-forwarder-errors": _python(256, 224, "post-process forwarder: 102 MiB measured (#2064)"),
    "sentry-cleanup": _python(256, 224, "`sentry cleanup` once a day; the loop around it is a shell", cpu=0.25),
    "taskscheduler": _python(224, 192, "taskworker-scheduler: one Sentry process", cpu=0.25),
    "taskworker": _python(512, 320, "taskworker_memory_mb(concurrency)", cpu=1.0),
}

FEATURE_COMPLETE_DEFAULTS: Mapping[str, Size] = {
    **DEFAULTS,
    "kafka": Size(768, 1.0, 512, "JVM: heap is half the limit; twice the topics of errors-only"),
    "clickhouse": Size(896, 1.0, 768, "ClickHouse caps itself at clickhouse_max_memory_ratio of this limit"),
    **{name: _RUST_CONSUMER for name in (
        "snuba-transactions-consumer", "snuba-replays-consumer", "snuba-issue-occurrence-consumer",
        "snuba-metrics-consumer", "snuba-generic-metrics-counters-consumer", "snuba-profiling-profiles-consumer",
        "snuba-profiling-functions-consumer", "snuba-profiling-profile-chunks-consumer")},
    "snuba-eap-items-consumer": Size(160, 0.5, 112, "rust-consumer with --use-rust-processor: spans, logs"),
    "snuba-outcomes-accepted-consumer": Size(112, 0.25, 96, "accepted-outcomes-consumer (Rust)"),
    **{name: _SNUBA_PYTHON for name in (
        "snuba-subscription-consumer-transactions", "snuba-subscription-consumer-metrics",
        "snuba-subscription-consumer-generic-metrics-counters")},
    **{name: _SENTRY_CONSUMER for name in (
        "transactions-consumer", "metrics-consumer", "generic-metrics-consumer", "process-spans",
        "process-segments")},
    **{name: _SENTRY_SMALL_CONSUMER for name in (
        "ingest-occurrences", "ingest-monitors", "ingest-feedback-events", "uptime-results")},
    "monitors-clock-tick": _python(256, 224, "one tick a minute", cpu=0.25),
    "monitors-clock-tasks": _python(256, 224, "monitor checks dispatched each tick", cpu=0.25),
    "post-process-forwarder-transactions": DEFAULTS["post-process-forwarder-errors"],
    "post-process-forwarder-issue-platform": DEFAULTS["post-process-forwarder-errors"],
    "launchpad-taskworker": _python(512, 320, "launchpad worker, concurrency 4 (mobile build analysis)"),
    "vroom": Size(256, 0.5, 128, "vroom (Go): profiles are read from object storage per request"),
    "uptime-checker": Size(128, 0.25, 64, "uptime-checker (Rust)"),
}


def defaults(profile: str) -> Mapping[str, Size]:
    return FEATURE_COMPLETE_DEFAULTS if profile == FEATURE_COMPLETE else DEFAULTS


def taskworker_memory_mb(concurrency: int) -> int:
    """taskworker: a parent (gRPC to taskbroker) plus `concurrency` forked children that share its
    imported code copy-on-write and add their own working set (~48 MB each at idle; upstream's
    .env warns that memory grows with the count)."""
    return 320 + 48 * concurrency


def taskworker_floor_mb(concurrency: int) -> int:
    return 256 + 32 * concurrency


def kafka_heap_mb(limit_mb: int) -> int:
    """Half the container limit, as the Kafka environment sets it (files/kafka.py): the JVM needs
    the rest for metaspace, thread stacks, direct buffers and page cache (confluentinc/cp-kafka's
    default is a fixed 1 GB heap, -Xmx1G -Xms1G, which a small limit would OOM-kill)."""
    return kafka_files.heap_mb(limit_mb)


# ClickHouse counts only what it allocates through its tracker; the rest (allocator slack,
# thread stacks, the binary) needs room under the cgroup limit.
CLICKHOUSE_UNTRACKED_MB = 256


def clickhouse_max_memory_ratio(limit_mb: int) -> float:
    """`max_server_memory_usage_to_ram_ratio`, which ClickHouse applies to its cgroup limit:
    the limit minus untracked room, between 0.5 and ClickHouse's own default 0.9 (upstream sets
    MAX_MEMORY_USAGE_RATIO=0.3 of the whole host because it sets no limit)."""
    ratio = (limit_mb - CLICKHOUSE_UNTRACKED_MB) / limit_mb
    return round(min(0.9, max(0.5, ratio)), 2)


def redis_maxmemory_mb(limit_mb: int) -> int:
    """Valkey's maxmemory, as for every Valkey this program runs (components.stores; upstream sets
    `maxmemory 0`, unbounded, and no limit)."""
    return valkey_maxmemory_mb(limit_mb)


def resources(profile: str, overrides: Mapping[str, Resources] = {},
              taskworker_concurrency: int = DEFAULT_TASKWORKER_CONCURRENCY) -> dict[str, Resources]:
    """Limits for every service of the profile: defaults, then the operator's overrides."""
    found = {}
    for name, size in defaults(profile).items():
        memory = taskworker_memory_mb(taskworker_concurrency) if name == "taskworker" else size.memory_mb
        found[name] = overrides.get(name, Resources(memory_mb=memory, cpu=size.cpu))
    return found


def floor_mb(profile: str, service: str, taskworker_concurrency: int = DEFAULT_TASKWORKER_CONCURRENCY) -> int:
    if service == "taskworker":
        return taskworker_floor_mb(taskworker_concurrency)
    return defaults(profile)[service].floor_mb
