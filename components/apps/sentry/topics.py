"""The Kafka topics the deployed services use: names, partitions and creation configs.

`sentry-kafka-schemas` (2.1.39, the version getsentry/snuba@26.8.0:pyproject.toml pins) lists
every topic with its `topic_creation_config` and `enforced_partition_count`, but it is the SaaS
superset (129 topics). Upstream creates all of them (`snuba bootstrap` creates Snuba's, `sentry
upgrade --create-kafka-topics` waits for Sentry's); here a topic exists only when a deployed
service consumes or produces it, with the package's config (upstream's retention), bounded only
where the operator asks. `kept` says how much disk that retention needs.

Which service uses which topic is read off its upstream command (catalog.py) where it has one:
- `sentry run consumer <name>`: the consumer's topic and DLQ in getsentry/sentry
  src/sentry/consumers/__init__.py (KAFKA_CONSUMERS) and src/sentry/conf/types/kafka_definition.py
  (Topic), plus the commit log named by `--synchronize-commit-log-topic`. The Sentry versions read
  were not tag-exact (the repository is too large to fetch), so every name was checked against
  sentry-kafka-schemas 2.1.39: `process-spans` reads `ingest-spans` (Topic.INGEST_SPANS; 2.1.39
  has no `snuba-spans`). What each writes downstream follows the package's `services.producers`.
- Snuba's `--storage` -> its `stream_loader` (STORAGES, from getsentry/snuba@26.8.0:
  snuba/datasets/configuration/*/storages/*.yaml); `--raw-events-topic` and
  `--accepted-outcomes-topic` override as the CLI does. The combined subscription
  scheduler-executor consumes its entity's commit log and produces its result topic
  (snuba@26.8.0:snuba/subscriptions/combined_scheduler_executor.py).
Services whose command names no topic (OTHER_SERVICES):
- taskbroker: getsentry/self-hosted@26.8.0:taskbroker/config.yml (`kafka_topics`, DLQ, retry).
- Relay: its default topic assignments (getsentry/relay relay-kafka/src/config.rs, recent).
- Vroom and uptime-checker: upstream's environment (SENTRY_KAFKA_BROKERS_PROFILING/OCCURRENCES,
  UPTIME_CHECKER_RESULTS_KAFKA_CLUSTER) and the package's `services.producers`.
"""

from __future__ import annotations

import functools
import math
import shlex
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

import sentry_kafka_schemas

from components.apps.sentry import catalog

KAFKA_SCHEMAS_VERSION = "2.1.39"
# More partitions than this buys nothing on the one host this program targets.
MAX_PARTITIONS = 16
# Kafka's own default segment size (log.segment.bytes): data is deleted a whole segment at a time.
KAFKA_DEFAULT_SEGMENT_BYTES = 1 << 30
MB = 1 << 20
GIB = 1 << 30
# What the Kafka volume is sized for unless the operator says (`sentry.kafka.ingestKbPerSecond`):
# 100 KB/s of compressed envelopes, about 5 events a second of 20 KB (430k a day).
DEFAULT_INGEST_KB_PER_SECOND = 100
# An ingested event is written about three times: its ingest topic, the processed `events` (or
# transactions...) stream, and what Snuba and the post-processing write from it.
DOWNSTREAM_COPIES = 3
# Consumer offsets, KRaft metadata and the open segments of near-empty topics.
METADATA_GB = 2

# Main topics read by a combined subscription scheduler-executor: it commits the commit log only
# after a subscription ran, whatever partition the data came from, so upstream's docstring asks
# for a single partition (snuba@26.8.0:snuba/subscriptions/combined_scheduler_executor.py).
SUBSCRIPTION_FOLLOWED = frozenset({"events", "transactions", "snuba-metrics", "snuba-generic-metrics",
                                   "snuba-items"})


@dataclass(frozen=True)
class Use:
    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stream:
    """A Snuba storage's `stream_loader` topics (snuba@26.8.0:snuba/datasets/configuration/
    <dataset>/storages/<storage>.yaml: default_topic, commit_log_topic, replacement_topic,
    dlq_topic, subscription_result_topic)."""

    default: str
    commit_log: Optional[str] = None
    replacements: Optional[str] = None
    dlq: Optional[str] = None
    results: Optional[str] = None


STORAGES: Mapping[str, Stream] = {
    "errors": Stream("events", "snuba-commit-log", "event-replacements", results="events-subscription-results"),
    "outcomes_raw": Stream("outcomes"),
    "group_attributes": Stream("group-attributes", dlq="snuba-dead-letter-group-attributes"),
    "transactions": Stream("transactions", "snuba-transactions-commit-log",
                           results="transactions-subscription-results"),
    "replays": Stream("ingest-replay-events", dlq="snuba-dead-letter-replays"),
    "search_issues": Stream("generic-events", "snuba-generic-events-commit-log",
                            dlq="snuba-dead-letter-generic-events"),
    "metrics_raw": Stream("snuba-metrics", "snuba-metrics-commit-log", dlq="snuba-dead-letter-metrics",
                          results="metrics-subscription-results"),
    "generic_metrics_counters_raw": Stream("snuba-generic-metrics", "snuba-generic-metrics-counters-commit-log",
                                           dlq="snuba-dead-letter-generic-metrics",
                                           results="generic-metrics-subscription-results"),
    "profiles": Stream("processed-profiles"),
    "functions_raw": Stream("profiles-call-tree"),
    "profile_chunks": Stream("snuba-profile-chunks"),
    "eap_items": Stream("snuba-items", "snuba-items-commit-log", dlq="snuba-dead-letter-items",
                        results="subscription-results-eap-items"),
}
# `--entity` of the subscription scheduler-executors -> the entity's writable storage.
ENTITY_STORAGE = {"events": "errors", "transactions": "transactions", "metrics_sets": "metrics_raw",
                  "metrics_counters": "metrics_raw", "generic_metrics_counters": "generic_metrics_counters_raw",
                  "eap_items": "eap_items"}

# `sentry run consumer <name>` -> its topic and DLQ (KAFKA_CONSUMERS), and what its processing
# writes to; `--synchronize-commit-log-topic` in the command adds the commit log it follows.
SENTRY_CONSUMERS: Mapping[str, Use] = {
    "ingest-events": Use(("ingest-events",), ("ingest-events-dlq", "events")),
    "ingest-attachments": Use(("ingest-attachments",), ("ingest-attachments-dlq", "events")),
    "ingest-transactions": Use(("ingest-transactions",), ("ingest-transactions-dlq", "transactions")),
    "ingest-metrics": Use(("ingest-metrics",), ("ingest-metrics-dlq", "snuba-metrics")),
    "ingest-generic-metrics": Use(("ingest-performance-metrics",), ("ingest-generic-metrics-dlq",
                                                                    "snuba-generic-metrics")),
    "ingest-occurrences": Use(("ingest-occurrences",), ("generic-events",)),
    "ingest-monitors": Use(("ingest-monitors",), ("monitors-clock-tick",)),
    "ingest-feedback-events": Use(("ingest-feedback-events",), ("ingest-feedback-events-dlq", "ingest-occurrences")),
    "process-spans": Use(("ingest-spans",), ("buffered-segments", "ingest-spans-dlq")),
    "process-segments": Use(("buffered-segments",), ("buffered-segments-dlq", "snuba-items", "ingest-occurrences")),
    "monitors-clock-tick": Use(("monitors-clock-tick",), ("monitors-clock-tasks",)),
    "monitors-clock-tasks": Use(("monitors-clock-tasks",)),
    "uptime-results": Use(("uptime-results",), ("snuba-items",)),
    "post-process-forwarder-errors": Use(("events",), ("taskworker",)),
    "post-process-forwarder-transactions": Use(("transactions",), ("taskworker",)),
    "post-process-forwarder-issue-platform": Use(("generic-events",), ("taskworker",)),
}

_RELAY = ("ingest-events", "ingest-attachments", "ingest-transactions", "outcomes", "outcomes-billing",
          "ingest-metrics", "ingest-performance-metrics", "profiles", "ingest-replay-events",
          "ingest-replay-recordings", "ingest-monitors", "ingest-spans", "ingest-feedback-events", "snuba-items")
_TASKBROKER_RAW = ("events-subscription-results", "transactions-subscription-results",
                   "metrics-subscription-results", "generic-metrics-subscription-results",
                   "subscription-results-eap-items", "profiles", "ingest-replay-recordings")
# Services whose command names no topic.
OTHER_SERVICES: Mapping[str, Use] = {
    "relay": Use(produces=_RELAY),
    # Sentry: tasks go to `taskworker`; saved events to the event streams Snuba reads.
    "web": Use(produces=("taskworker", "outcomes", "group-attributes")),
    "taskscheduler": Use(produces=("taskworker", "ingest-monitors")),
    "taskworker": Use(produces=("taskworker", "events", "group-attributes", "outcomes", "ingest-occurrences",
                                "ingest-replay-events", "snuba-items")),
    "taskbroker": Use(("taskworker", *_TASKBROKER_RAW), ("taskworker", "taskworker-dlq")),
    "vroom": Use(produces=("processed-profiles", "profiles-call-tree", "snuba-profile-chunks", "ingest-occurrences")),
    "uptime-checker": Use(produces=("uptime-results",)),
}


def _flag(args: list[str], name: str) -> list[str]:
    """Every value of `--name value` or `--name=value` in a command line."""
    values = [a.split("=", 1)[1] for a in args if a.startswith(name + "=")]
    values += [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]
    return values


def use_of(service: str) -> Use:
    """The topics a service reads and writes, read off its upstream command where it has one."""
    if service in OTHER_SERVICES:
        return OTHER_SERVICES[service]
    command = catalog.CATALOG[service].command
    args = shlex.split(command) if isinstance(command, str) else []
    if args[:2] == ["run", "consumer"]:
        use = SENTRY_CONSUMERS[args[2]]
        return Use((*use.consumes, *_flag(args, "--synchronize-commit-log-topic")), use.produces)
    if not args or args[0] not in ("rust-consumer", "replacer", "accepted-outcomes-consumer",
                                   "subscriptions-scheduler-executor"):
        return Use()
    if args[0] == "subscriptions-scheduler-executor":
        stream = STORAGES[ENTITY_STORAGE[_flag(args, "--entity")[0]]]
        return Use((stream.commit_log,), (stream.results,))
    stream = STORAGES[_flag(args, "--storage")[0]]
    if args[0] == "replacer":
        return Use((stream.replacements,))
    if args[0] == "accepted-outcomes-consumer":
        return Use((stream.default,), (*_flag(args, "--accepted-outcomes-topic"), stream.dlq))
    raw = _flag(args, "--raw-events-topic")
    writes = (stream.commit_log, stream.replacements, stream.dlq)
    return Use((raw[0] if raw else stream.default,), tuple(t for t in writes if t))


SERVICE_TOPICS: Mapping[str, Use] = {name: use_of(name) for name in catalog.CATALOG}


@functools.lru_cache(maxsize=None)
def _schema(topic: str) -> Mapping:
    """The package's entry for a topic (read from its YAML once); callers must not change it."""
    return sentry_kafka_schemas.get_topic(topic)


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    config: Mapping[str, str]


def fixed_partitions(topic: str) -> Optional[int]:
    """The partition count a topic must have, or None when consumers may scale it out."""
    enforced = _schema(topic)["enforced_partition_count"]
    if enforced is not None:
        return int(enforced)
    return 1 if topic in SUBSCRIPTION_FOLLOWED else None


def replica_bound(service: str) -> Optional[int]:
    """How many replicas a consumer service may run: its topics' partitions cap it (None: the
    service consumes no topic)."""
    consumed = SERVICE_TOPICS[service].consumes
    if not consumed:
        return None
    fixed = [f for f in (fixed_partitions(t) for t in consumed) if f is not None]
    return min(fixed) if fixed else MAX_PARTITIONS


def used_by(services: Iterable[str]) -> tuple[str, ...]:
    """The topics the given services consume or produce, sorted."""
    names: set[str] = set()
    for service in services:
        use = SERVICE_TOPICS.get(service, Use())
        names.update(use.consumes, use.produces)
    return tuple(sorted(names))


def partitions(services: Iterable[str], replicas: Mapping[str, int]) -> dict[str, int]:
    """Partitions per topic: what the topic must have, else enough for its busiest consumer."""
    services = tuple(services)
    counts = {}
    for topic in used_by(services):
        fixed = fixed_partitions(topic)
        readers = [replicas.get(s, 1) for s in services if topic in SERVICE_TOPICS.get(s, Use()).consumes]
        counts[topic] = fixed if fixed is not None else max([1, *readers])
    return counts


def creation_config(topic: str, retention_hours: Optional[int] = None,
                    retention_bytes: Optional[int] = None) -> dict[str, str]:
    """The package's creation config, as Snuba and Sentry create the topic upstream (24 h for most
    topics, 7 days for dead-letter queues, no byte bound), bounded only by what the operator set.

    A topic's own `retention.ms` overrides the broker's `log.retention.hours`, so a bound applies
    per topic. Kafka deletes whole segments, so a byte bound caps the segment size too: a
    partition then holds at most `retention.bytes` plus one segment.
    """
    config = dict(_schema(topic)["topic_creation_config"])
    if retention_hours is not None:
        cap_ms = retention_hours * 3_600_000
        config["retention.ms"] = str(min(int(config.get("retention.ms", cap_ms)), cap_ms))
    if retention_bytes is not None:
        current = int(config.get("retention.bytes", -1))
        config["retention.bytes"] = str(retention_bytes if current < 0 else min(current, retention_bytes))
        segment = int(config.get("segment.bytes", KAFKA_DEFAULT_SEGMENT_BYTES))
        config["segment.bytes"] = str(min(segment, max(retention_bytes // 4, 16 * MB)))
    return config


def topics(services: Iterable[str], replicas: Mapping[str, int], retention_hours: Optional[int] = None,
           retention_bytes: Optional[int] = None) -> tuple[Topic, ...]:
    """Every topic the services use, ready to create."""
    counts = partitions(services, replicas)
    return tuple(Topic(name, count, creation_config(name, retention_hours, retention_bytes))
                 for name, count in counts.items())


def disk_bound_bytes(created: Iterable[Topic]) -> Optional[int]:
    """The most these topics can hold on disk (None when retention has no byte bound)."""
    total = 0
    for topic in created:
        if "retention.bytes" not in topic.config:
            return None
        total += topic.partitions * (int(topic.config["retention.bytes"]) + int(topic.config["segment.bytes"]))
    return total


def dead_letter(topic: str) -> bool:
    return topic.endswith("-dlq") or "dead-letter" in topic


@dataclass(frozen=True)
class Kept:
    """What Kafka keeps on disk for these topics, and the arithmetic behind it (for messages)."""

    bytes: int
    reason: str

    @property
    def volume_gb(self) -> int:
        """The volume that holds it, with room for offsets and cluster metadata."""
        return math.ceil(self.bytes / GIB) + METADATA_GB


def kept(created: Iterable[Topic], ingest_kb_per_second: int, roll_hours: int) -> Kept:
    """Every event ingested at `ingest_kb_per_second` stays on disk for the retention of the topics
    Relay writes it to plus the time until its segment rolls (only closed segments are deleted),
    written DOWNSTREAM_COPIES times on its way through (ingest topic, processed event, Snuba's
    streams), which keep the same retention. Dead-letter queues and `event-replacements` (7 days)
    hold only what failed or was merged and are left out. A consumer stopped for less than the
    retention loses nothing. An operator's byte bound caps the whole."""
    created = tuple(created)
    live = [t for t in created if t.name in OTHER_SERVICES["relay"].produces] or [
        t for t in created if not dead_letter(t.name)] or list(created)
    longest_hours = max(int(t.config["retention.ms"]) for t in live) / 3_600_000 if live else 0
    seconds = (longest_hours + roll_hours) * 3600
    estimate = int(ingest_kb_per_second * 1024 * DOWNSTREAM_COPIES * seconds)
    reason = (f"{ingest_kb_per_second} KB/s of ingest x {DOWNSTREAM_COPIES} copies x ({longest_hours:g} h retention "
              f"+ {roll_hours} h until a segment rolls)")
    bound = disk_bound_bytes(created)
    if bound is not None and bound < estimate:
        partitions_total = sum(t.partitions for t in created)
        return Kept(bound, f"{partitions_total} partitions x (retentionMbPerPartition + one segment)")
    return Kept(estimate, reason)
