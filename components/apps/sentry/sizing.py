"""Memory and CPU per Sentry service: a limit above the most it was seen to use, a reservation at
what it typically uses, and where each figure comes from. One table for both platforms (Docker's
`memory_reservation`, Kubernetes' requests).

Upstream gives host minimums only (getsentry/self-hosted@26.8.0:install/_min-requirements.sh:
7000 MB errors-only, 14000 MB feature-complete) and no per-service figures, so the figures are
the `docker stats` its users published ("MiB" as docker prints it):
- #2539 (24.11.2, near idle): kafka 1.402 GiB at its default 1 GiB heap, web 1.075 GiB,
  attachments-consumer 637.2 MiB, worker 573.5, generic-metrics-consumer 407, snuba consumers
  250.8-259.2, snuba subscription consumers 233.4-233.9, snuba-api 215.7, snuba-replacer 215.2;
- #3467 (24.11.1, clean install): 200-300 MB per Sentry and Snuba consumer container;
- #3053 (24.4.1, 2k errors and 16k transactions a day): relay 1.482 GiB, nginx 5.4 MiB;
- #1830 (22.11.0): worker 1.527 GiB, nginx 14.7, post-process-forwarder-errors 147.2;
- #1719 (22.x, busy worker): worker 874.8 MiB, relay 34.12 idle, sentry-cleanup's cron 1.16;
- #2064 (23.x): post-process-forwarder-errors 102.3 MiB, subscription consumers 71.2-97.3;
- #2766 (24.1.0, `top`): clickhouse-server 332 MiB resident, sentry processes 173-228 MiB.
The rule: a LIMIT at least 1.5 times the largest figure published for the service, or for its
kind of process where it has none (`published_mb`, 0 with the reason where nothing is published);
a RESERVATION at its typical use. The reservations of what runs all the time add up to at most
the host minimum with the operations (backups, watchdog) beside them; the limits add up to more:
a burst in one service borrows what others leave idle, which a host of the minimum size has.

Self-capping processes are sized by what they are told: Kafka's JVM heap (`kafka_heap_mb`),
ClickHouse's server cap (`clickhouse_max_memory_ratio`: at least upstream's 0.3 of the host
minimum), Postgres' shared memory (`POSTGRES_SHM_MB`). Valkey runs as upstream does (no
maxmemory, volatile-lru): its limit is the only bound, sized for bursts of in-flight payloads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping

from components.spec import Resources

from components.apps.sentry.catalog import ERRORS_ONLY, FEATURE_COMPLETE
from components.apps.sentry.files import kafka as kafka_files

# install/_min-requirements.sh MIN_RAM_HARD (MB) and MIN_CPU_HARD: what runs all the time reserves
# at most this, operations included (OPERATIONS_MB at the most, everything on).
HOST_MEMORY_MB = {ERRORS_ONLY: 7000, FEATURE_COMPLETE: 14000}
OPERATIONS_MB = 416
HOST_CPUS = {ERRORS_ONLY: 2, FEATURE_COMPLETE: 4}
LIMIT_OVER_PUBLISHED = 1.5
# Upstream's MAX_MEMORY_USAGE_RATIO: ClickHouse may use 0.3 of the host (docker-compose.yml).
CLICKHOUSE_HOST_SHARE = 0.3
# upstream docker-compose.yml `postgres: shm_size: 256m` (parallel query workers need it).
POSTGRES_SHM_MB = 256

DEFAULT_TASKWORKER_CONCURRENCY = 4  # getsentry/self-hosted@26.8.0:.env SENTRY_TASKWORKER_CONCURRENCY
DEFAULT_LAUNCHPAD_CONCURRENCY = 4  # docker-compose.yml ${LAUNCHPAD_TASKWORKER_CONCURRENCY:-4}


@dataclass(frozen=True)
class Size:
    """One service: limit and typical use (MiB), CPU cap and typical CPU, the largest published
    figure for it or its kind (0: none published, said in `source`), and where they come from."""

    memory_mb: int
    typical_mb: int
    cpu: float
    typical_cpu: float
    published_mb: float
    source: str

    @property
    def floor_mb(self) -> int:
        """Below its typical use a limit only makes the kernel kill it: refused as an override."""
        return self.typical_mb


def _mib(gib: float) -> float:
    return gib * 1024


# Kinds of process, each with the largest figure published for one of its kind.
SNUBA_PUBLISHED = (300, "Snuba process: 200-300 MB per container (#3467, 24.11.1); 215-259 MiB near idle (#2539, "
                        "24.11.2)")
SENTRY_PUBLISHED = (637.2, "Sentry consumer: attachments-consumer 637.2 MiB near idle (#2539, 24.11.2); 200-300 MB "
                           "per consumer (#3467); Sentry processes 173-228 MiB (#2766, 24.1.0)")
WORKER_PUBLISHED = (_mib(1.527), "task worker: 1.527 GiB (#1830, 22.11.0), 874.8 MiB busy (#1719), 573.5 MiB near "
                                 "idle (#2539, 24.11.2)")
RUST_PUBLISHED = (_mib(1.482), "Rust ingest service: relay 1.482 GiB (#3053, 24.4.1, 2k errors + 16k transactions a "
                               "day), 34.12 MiB idle (#1719)")
SMALL_DAEMON_PUBLISHED = (14.7, "small C daemon: nginx 14.7 MiB (#1830), 5.4 MiB (#3053)")


def _snuba(typical: int = 200, note: str = "") -> Size:
    return Size(480, typical, 0.5, 0.05, SNUBA_PUBLISHED[0], SNUBA_PUBLISHED[1] + note)


def _sentry(typical: int = 200, note: str = "", cpu: float = 0.5, typical_cpu: float = 0.05) -> Size:
    return Size(960, typical, cpu, typical_cpu, SENTRY_PUBLISHED[0], SENTRY_PUBLISHED[1] + note)


_SNUBA = _snuba(note="; reserved at 200, the lower end of #3467")
_SENTRY = _sentry(note="; reserved at 200 (#3467's lower end, #2766)")
_FORWARDER = _sentry(128, "; post-process forwarder 102.3 MiB (#2064), 147.2 (#1830)")
_SCHEDULER = _sentry(200, "; a scheduler: one Sentry process (#2766: 173-228 MiB)", typical_cpu=0.02)

# Errors-only; FEATURE_COMPLETE_DEFAULTS adds its services and raises a few.
DEFAULTS: Mapping[str, Size] = {
    "smtp": Size(64, 16, 0.1, 0.01, *SMALL_DAEMON_PUBLISHED),
    "memcached": Size(128, 72, 0.25, 0.02, 64, "memcached: none published; its item memory, -m 64 MB by default, "
                                                "plus connections"),
    "redis": Size(1024, 96, 0.5, 0.05, 0, "Valkey, upstream's maxmemory 0 + volatile-lru: no fixed figure, it grows "
                                          "with ingest (#2262: 7 GB after 10 h at 75k events a day, 23.8.0); 1 GiB "
                                          "holds minutes of in-flight payloads at the Kafka sizing's ingest rate"),
    "postgres": Size(1536, 256, 1.0, 0.1, 0, "none published; shared_buffers 128 MB + /dev/shm 256 MB + 100 "
                                             "connections x (backend + 4 MB work_mem) is under 1 GiB"),
    "pgbouncer": Size(64, 8, 0.25, 0.02, *SMALL_DAEMON_PUBLISHED),
    "kafka": Size(2176, 928, 1.0, 0.2, _mib(1.402), "Kafka: 1.402 GiB at a 1 GiB heap (#2539, 24.11.2); heap a quarter "
                                                    "of the limit (kafka_heap_mb), typical = heap + the 0.40 GiB off "
                                                    "heap that figure shows"),
    "clickhouse": Size(2368, 352, 1.0, 0.2, 1024, "ClickHouse: 332 MiB resident (#2766, 24.1.0), over 1 GiB (#616); "
                                                  "capped at 0.3 of the 7000 MB host like upstream"),
    "seaweedfs": Size(512, 48, 0.25, 0.02, 0, "weed mini (one Go process: master, volume, filer, S3): none "
                                              "published; idle Go servers hold a few tens of MiB"),
    "nginx": Size(64, 16, 0.25, 0.02, *SMALL_DAEMON_PUBLISHED),
    "snuba-api": _snuba(216, "; snuba-api 215.7 MiB (#2539)"),
    "snuba-errors-consumer": _SNUBA,
    "snuba-outcomes-consumer": _SNUBA,
    "snuba-outcomes-billing-consumer": _SNUBA,
    "snuba-group-attributes-consumer": _SNUBA,
    "snuba-replacer": _snuba(200, "; snuba-replacer 215.2 MiB (#2539)"),
    "snuba-subscription-consumer-events": _snuba(200, "; 233.9 MiB (#2539), 71.2 (#2064)"),
    "snuba-subscription-consumer-eap-items": _SNUBA,
    "symbolicator": Size(2304, 96, 1.0, 0.05, *RUST_PUBLISHED),
    "symbolicator-cleanup": Size(128, 16, 0.1, 0.01, *SMALL_DAEMON_PUBLISHED),
    # 95% of the limit is where Relay's health turns unhealthy (503), 80% its back-pressure
    # (files/relay.py renders both): the published peak stays below both.
    "relay": Size(2304, 128, 1.0, 0.1, *RUST_PUBLISHED),
    "taskbroker": Size(512, 64, 0.5, 0.05, 0, "taskbroker (Rust, SQLite inflight store): none published"),
    "web": Size(1664, 1104, 1.0, 0.25, 1100.8, "web: uWSGI 3 workers x 4 threads: 1.075 GiB near idle (#2539, "
                                               "24.11.2)"),
    "events-consumer": _SENTRY,
    "attachments-consumer": _sentry(640, "; reserved at its own 637.2"),
    "post-process-forwarder-errors": _FORWARDER,
    # Docker: a shell sleeping until midnight (#1719: 1.16 MiB, #2064: 364 KiB) around `sentry
    # cleanup`; its Kubernetes CronJob reserves one process (ONE_PROCESS_MB) while it runs.
    "sentry-cleanup": _sentry(16, "; the loop idles at 1.16 MiB (#1719)", cpu=1.0, typical_cpu=0.01),
    "taskscheduler": _SCHEDULER,
    "taskworker": Size(2368, 576, 1.0, 0.2, *WORKER_PUBLISHED),
}
# A command line run once (`sentry cleanup`, an install step) is one Sentry or Snuba process:
# 173-228 MiB resident (#2766, 24.1.0); it reserves that much beside the running services.
ONE_PROCESS_MB = 200

FEATURE_COMPLETE_DEFAULTS: Mapping[str, Size] = {
    **DEFAULTS,
    "redis": replace(DEFAULTS["redis"], memory_mb=2048, typical_mb=192),
    "clickhouse": Size(4672, 512, 2.0, 0.25, 1024, "ClickHouse: 332 MiB resident (#2766), over 1 GiB (#616); capped "
                                                   "at 0.3 of the 14000 MB host like upstream"),
    **{name: _SNUBA for name in (
        "snuba-transactions-consumer", "snuba-replays-consumer", "snuba-issue-occurrence-consumer",
        "snuba-metrics-consumer", "snuba-generic-metrics-counters-consumer", "snuba-profiling-profiles-consumer",
        "snuba-profiling-functions-consumer", "snuba-profiling-profile-chunks-consumer", "snuba-eap-items-consumer",
        "snuba-outcomes-accepted-consumer", "snuba-subscription-consumer-transactions",
        "snuba-subscription-consumer-metrics", "snuba-subscription-consumer-generic-metrics-counters")},
    **{name: _SENTRY for name in (
        "transactions-consumer", "metrics-consumer", "process-spans", "process-segments", "ingest-occurrences",
        "ingest-monitors", "ingest-feedback-events", "uptime-results")},
    "generic-metrics-consumer": _sentry(408, "; reserved at its own 407 (#2539)"),
    "monitors-clock-tick": _SCHEDULER,
    "monitors-clock-tasks": _SCHEDULER,
    "post-process-forwarder-transactions": _FORWARDER,
    "post-process-forwarder-issue-platform": _FORWARDER,
    "launchpad-taskworker": Size(2368, 576, 1.0, 0.1, *WORKER_PUBLISHED),
    "vroom": Size(512, 64, 0.5, 0.05, 0, "vroom (Go): none published; profiles are read per request"),
    "uptime-checker": Size(256, 32, 0.25, 0.02, 0, "uptime-checker (Rust): none published"),
}


def defaults(profile: str) -> Mapping[str, Size]:
    return FEATURE_COMPLETE_DEFAULTS if profile == FEATURE_COMPLETE else DEFAULTS


def _scaled(value: int, concurrency: int) -> int:
    """More children than upstream's 4 need proportionally more (upstream's .env warns memory
    grows with the count); fewer keep the defaults. Rounded up to 64 MiB."""
    return int(math.ceil(value * max(1.0, concurrency / DEFAULT_TASKWORKER_CONCURRENCY) / 64.0) * 64)


def taskworker_memory_mb(concurrency: int) -> int:
    return _scaled(DEFAULTS["taskworker"].memory_mb, concurrency)


def taskworker_typical_mb(concurrency: int) -> int:
    return _scaled(DEFAULTS["taskworker"].typical_mb, concurrency)


def kafka_heap_mb(limit_mb: int) -> int:
    """The JVM heap the Kafka environment sets (files/kafka.py): a quarter of the limit, the rest
    for metaspace, threads, network buffers and the page cache Kafka reads from."""
    return kafka_files.heap_mb(limit_mb)


# ClickHouse counts only what it allocates through its tracker; the rest (allocator slack,
# thread stacks, the binary) needs room under the cgroup limit.
CLICKHOUSE_UNTRACKED_MB = 256


def clickhouse_max_memory_ratio(limit_mb: int) -> float:
    """`max_server_memory_usage_to_ram_ratio`, which ClickHouse applies to its cgroup limit:
    the limit minus untracked room, between 0.5 and ClickHouse's own default 0.9, rounded down."""
    ratio = (limit_mb - CLICKHOUSE_UNTRACKED_MB) / limit_mb
    return math.floor(min(0.9, max(0.5, ratio)) * 100) / 100


def clickhouse_server_cap_mb(limit_mb: int) -> int:
    return int(limit_mb * clickhouse_max_memory_ratio(limit_mb))


def with_swap(resources: Resources) -> Resources:
    """Upstream sets no limits and its documented host has swap (#3053: "the host will crash if
    you don't have any swap configured"): every service may swap as much again as its limit,
    Docker's own default for a container with a memory limit."""
    return replace(resources, swap_mb=resources.memory_mb)


def _reservation(limit: Resources, size: Size, typical_mb: int) -> Resources:
    """The typical use as request, never above the limit."""
    return with_swap(replace(limit, memory_request_mb=min(typical_mb, limit.memory_mb),
                             cpu_request=min(size.typical_cpu, limit.cpu)))


def resources(profile: str, overrides: Mapping[str, Resources] = {},
              taskworker_concurrency: int = DEFAULT_TASKWORKER_CONCURRENCY) -> dict[str, Resources]:
    """Limit and reservation for every service of the profile: defaults, then the operator's."""
    found = {}
    for name, size in defaults(profile).items():
        if name in overrides:
            found[name] = with_swap(overrides[name])
            continue
        memory, typical = size.memory_mb, size.typical_mb
        if name == "taskworker":
            memory, typical = taskworker_memory_mb(taskworker_concurrency), taskworker_typical_mb(taskworker_concurrency)
        found[name] = _reservation(Resources(memory_mb=memory, cpu=size.cpu), size, typical)
    return found


def one_process(service: Resources) -> Resources:
    """A command run once in a service's image (the cleanup CronJob, an install Job): the service's
    limit, reserving what one process typically uses, so it is scheduled beside the services."""
    return replace(service, memory_request_mb=min(ONE_PROCESS_MB, service.memory_mb),
                   cpu_request=min(0.1, service.cpu))


def floor_mb(profile: str, service: str, taskworker_concurrency: int = DEFAULT_TASKWORKER_CONCURRENCY) -> int:
    if service == "taskworker":
        return taskworker_typical_mb(taskworker_concurrency)
    return defaults(profile)[service].floor_mb


def default_cpu_request(profile: str, service: str) -> float:
    return defaults(profile)[service].typical_cpu
