"""Kafka's environment: a single KRaft node as upstream's docker-compose.yml at 26.8.0, bounded.

Upstream's broker keeps 3 hours by default (KAFKA_LOG_RETENTION_HOURS=3) and every topic Sentry
and Snuba create overrides it with its own `retention.ms` (sentry-kafka-schemas: 24 h, DLQs 7 days),
with no byte bound; its JVM heap is Kafka's default 1 GB whatever the container has. Here:
- the heap is a quarter of the container's memory limit (the rest is page cache, metaspace and
  network buffers, which Kafka leans on), between 256 MB and 6 GB;
- the broker's hours are upstream's unless the operator bounds retention (`sentry.kafka`), and a
  byte bound per partition exists only when the operator sets one (then segments are small
  enough for it to bite: only closed segments are deleted);
- segments roll every broker retention period, so a quiet topic's data does not outlive it.
"""

from __future__ import annotations

from typing import Optional

MIB = 1024 * 1024
MIN_SEGMENT_BYTES = 16 * MIB
MAX_SEGMENT_BYTES = 1024 * MIB


UPSTREAM_RETENTION_HOURS = 3  # getsentry/self-hosted@26.8.0:docker-compose.yml KAFKA_LOG_RETENTION_HOURS


def heap_mb(memory_limit_mb: int) -> int:
    return max(256, min(6144, memory_limit_mb // 4))


def retention_bytes_per_partition(disk_budget_mb: int, partitions: int) -> int:
    """Share a disk budget among all partitions, keeping a fifth for segments still open."""
    if partitions < 1 or disk_budget_mb < 1:
        raise ValueError("partitions and disk_budget_mb must be positive")
    return max(MIN_SEGMENT_BYTES, disk_budget_mb * MIB * 4 // 5 // partitions)


def kafka_environment(
    memory_limit_mb: int,
    retention_hours: Optional[int] = None,
    retention_bytes: Optional[int] = None,
    host: str = "kafka",
) -> dict[str, str]:
    """Environment for confluentinc/cp-kafka as a combined broker+controller node; the retention
    bounds are the operator's (None: upstream's hours, no byte bound)."""
    if (retention_hours is not None and retention_hours < 1) or (
            retention_bytes is not None and retention_bytes < MIN_SEGMENT_BYTES):
        raise ValueError(f"retention must be >= 1 hour and >= {MIN_SEGMENT_BYTES} bytes")
    heap = heap_mb(memory_limit_mb)
    hours = retention_hours or UPSTREAM_RETENTION_HOURS
    bounded = {}
    if retention_bytes is not None:
        bounded = {"KAFKA_LOG_RETENTION_BYTES": str(retention_bytes),
                   "KAFKA_LOG_SEGMENT_BYTES": str(max(MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, retention_bytes // 4)))}
    return {
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1001@127.0.0.1:29093",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_NODE_ID": "1001",
        "CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk",
        "KAFKA_LISTENERS": (
            "PLAINTEXT://0.0.0.0:29092,INTERNAL://0.0.0.0:9093,EXTERNAL://0.0.0.0:9092,"
            "CONTROLLER://0.0.0.0:29093"
        ),
        "KAFKA_ADVERTISED_LISTENERS": (
            f"PLAINTEXT://127.0.0.1:29092,INTERNAL://{host}:9093,EXTERNAL://{host}:9092"
        ),
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
            "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
        "KAFKA_LOG_RETENTION_HOURS": str(hours),
        **bounded,
        "KAFKA_LOG_ROLL_HOURS": str(hours),
        "KAFKA_MESSAGE_MAX_BYTES": "50000000",
        "KAFKA_MAX_REQUEST_SIZE": "50000000",
        "KAFKA_HEAP_OPTS": f"-Xmx{heap}m -Xms{heap}m",
        "CONFLUENT_SUPPORT_METRICS_ENABLE": "false",
        "KAFKA_LOG4J_LOGGERS": (
            "kafka.cluster=WARN,kafka.controller=WARN,kafka.coordinator=WARN,kafka.log=WARN,"
            "kafka.server=WARN,state.change.logger=WARN"
        ),
        "KAFKA_LOG4J_ROOT_LOGLEVEL": "WARN",
        "KAFKA_TOOLS_LOG4J_LOGLEVEL": "WARN",
    }
