"""Kafka topics for the deployed Sentry services: which, how many partitions, what retention."""

from __future__ import annotations

import pytest
import sentry_kafka_schemas

from components.apps.sentry import catalog, credentials, topics
from components.apps.sentry import services as sentry_services
from components.apps.sentry.settings import Kafka, SentrySettings
from tests.harness import deploy

HOUR_MS = 3_600_000
ERRORS_ONLY = catalog.service_names(catalog.ERRORS_ONLY)
FEATURE_COMPLETE = catalog.service_names(catalog.FEATURE_COMPLETE)


def test_the_package_is_the_version_snuba_pins():
    from importlib.metadata import version

    assert version("sentry-kafka-schemas") == topics.KAFKA_SCHEMAS_VERSION == "2.1.39"


def test_every_topic_named_exists_in_the_package():
    known = set(sentry_kafka_schemas.list_topics())
    for service, use in topics.SERVICE_TOPICS.items():
        assert service in catalog.CATALOG, service
        assert set(use.consumes) | set(use.produces) <= known, service


def test_topics_are_read_off_upstreams_commands():
    use = topics.SERVICE_TOPICS
    assert use["snuba-outcomes-billing-consumer"].consumes == ("outcomes-billing",)  # --raw-events-topic
    assert use["snuba-outcomes-consumer"].consumes == ("outcomes",)  # storage outcomes_raw
    assert use["post-process-forwarder-transactions"].consumes == ("transactions", "snuba-transactions-commit-log")
    assert use["snuba-subscription-consumer-metrics"] == topics.Use(("snuba-metrics-commit-log",),
                                                                    ("metrics-subscription-results",))
    assert use["snuba-errors-consumer"].produces == ("snuba-commit-log", "event-replacements")
    assert use["snuba-outcomes-accepted-consumer"].produces == ("outcomes-billing", "snuba-dead-letter-items")
    assert use["memcached"] == topics.Use()


def test_every_scalable_consumer_knows_the_topics_that_bound_it():
    for name, entry in catalog.CATALOG.items():
        if entry.scaling == catalog.TOPIC:
            assert topics.SERVICE_TOPICS[name].consumes, name


def test_errors_only_creates_what_its_services_use_and_not_the_saas_superset():
    names = set(topics.used_by(ERRORS_ONLY))
    # Read by errors-only consumers, or written by Relay (which knows no profile).
    assert {"ingest-events", "ingest-attachments", "events", "snuba-commit-log", "event-replacements", "outcomes",
            "outcomes-billing", "group-attributes", "taskworker", "taskworker-dlq", "ingest-transactions",
            "snuba-items-commit-log", "events-subscription-results"} <= names
    # Only feature-complete services read or write these.
    assert not names & {"transactions", "snuba-metrics", "snuba-generic-metrics", "processed-profiles",
                        "buffered-segments", "monitors-clock-tick", "uptime-results"}
    assert len(names) < len(set(topics.used_by(FEATURE_COMPLETE))) < len(list(sentry_kafka_schemas.list_topics()))


def test_enforced_partition_count_wins_over_replicas():
    counts = topics.partitions(FEATURE_COMPLETE, {"monitors-clock-tick": 3, "events-consumer": 4})
    assert counts["monitors-clock-tick"] == 1  # enforced_partition_count in the package
    assert counts["snuba-commit-log"] == 1
    assert counts["ingest-events"] == 4
    assert topics.replica_bound("monitors-clock-tick") == 1


def test_topics_followed_by_subscription_schedulers_stay_single_partition():
    counts = topics.partitions(ERRORS_ONLY, {"snuba-errors-consumer": 3, "post-process-forwarder-errors": 2})
    assert counts["events"] == 1
    assert topics.replica_bound("snuba-errors-consumer") == 1
    assert topics.replica_bound("events-consumer") == topics.MAX_PARTITIONS


def test_partitions_follow_the_busiest_consumer():
    counts = topics.partitions(FEATURE_COMPLETE, {"snuba-outcomes-consumer": 2, "snuba-outcomes-billing-consumer": 3})
    assert counts["outcomes"] == 2 and counts["outcomes-billing"] == 3
    assert topics.partitions(ERRORS_ONLY, {})["ingest-attachments"] == 1


def test_by_default_every_topic_keeps_what_upstream_keeps():
    for topic in topics.topics(FEATURE_COMPLETE, {}):
        assert topic.config == dict(sentry_kafka_schemas.get_topic(topic.name)["topic_creation_config"]), topic.name
        assert "retention.bytes" not in topic.config
        assert int(topic.config["retention.ms"]) >= 24 * HOUR_MS


def test_retention_is_capped_by_the_operator_bound():
    config = topics.creation_config("ingest-events", 3, None)
    assert config["retention.ms"] == str(3 * HOUR_MS)  # the package says 24 h
    assert topics.creation_config("ingest-events-dlq", 48, None)["retention.ms"] == str(48 * HOUR_MS)  # 7 d
    assert topics.creation_config("ingest-events", 48, None)["retention.ms"] == str(24 * HOUR_MS)  # package lower
    assert config["compression.type"] == "lz4" and config["max.message.bytes"] == "10000000"


def test_byte_bound_caps_retention_and_segments():
    bound = 256 * topics.MB
    config = topics.creation_config("snuba-commit-log", 3, bound)
    assert config["retention.bytes"] == str(bound)
    assert int(config["segment.bytes"]) <= bound // 4  # the package's 100 MB segment is cut down
    assert config["cleanup.policy"] == "compact,delete"


def test_disk_bound_covers_retention_and_one_segment_per_partition():
    created = topics.topics(ERRORS_ONLY, {"events-consumer": 2}, 3, 512 * topics.MB)
    partitions = sum(t.partitions for t in created)
    assert all(int(t.config["segment.bytes"]) <= 128 * topics.MB for t in created)
    bound = topics.disk_bound_bytes(created)
    assert partitions * 512 * topics.MB < bound <= partitions * (512 + 128) * topics.MB
    assert topics.disk_bound_bytes(topics.topics(ERRORS_ONLY, {})) is None


def test_what_kafka_keeps_is_the_ingest_rate_times_the_retention():
    kept = sentry_services.kafka_kept(SentrySettings())
    # 100 KB/s, three copies on the way through, 24 h of retention plus 3 h until a segment rolls.
    assert kept.bytes == 100 * 1024 * topics.DOWNSTREAM_COPIES * 27 * 3600
    assert kept.volume_gb == 30 and "100 KB/s" in kept.reason and "24 h retention" in kept.reason
    # Dead-letter queues (7 days) hold only what failed: they do not set the horizon.
    assert max(int(t.config["retention.ms"]) for t in sentry_services.kafka_topics(SentrySettings())) == 7 * 24 * HOUR_MS
    assert sentry_services.kafka_kept(SentrySettings(kafka=Kafka(ingest_kb_per_second=400))).volume_gb > 100
    assert sentry_services.kafka_kept(SentrySettings(kafka=Kafka(retention_hours=6))).volume_gb < kept.volume_gb


def test_an_operators_byte_bound_caps_what_is_kept():
    small = SentrySettings(kafka=Kafka(retention_mb_per_partition=64))
    kept = sentry_services.kafka_kept(small)
    assert kept.bytes == topics.disk_bound_bytes(sentry_services.kafka_topics(small))
    assert "retentionMbPerPartition" in kept.reason and kept.volume_gb < sentry_services.kafka_kept(SentrySettings()).volume_gb


def test_the_kafka_volume_is_what_kafka_keeps_and_says_why():
    def volume(settings):
        return {v.name: v for v in sentry_services.volumes(settings, (catalog_service("kafka"),))}["sentry-kafka"]

    default = volume(SentrySettings())
    assert default.size_gb == sentry_services.kafka_kept(SentrySettings()).volume_gb
    assert default.minimum_reason.startswith("what Kafka keeps: 100 KB/s of ingest")
    assert volume(SentrySettings(kafka=Kafka(ingest_kb_per_second=10))).size_gb < default.size_gb


def catalog_service(name):
    settings = SentrySettings()
    return sentry_services.service(name, settings, credentials.Context(credentials.Secrets("a", "b", "c", "d", "e")), {})


KUBERNETES = {"app": "sentry", "platform": "kubernetes", "sentry": {"internalNetworks": ["10.1.0.0/16"]},
              "kubernetes": {"namespace": "sentry", "ingress": {"controllerNamespace": "ingress-nginx"}}}


def test_a_kafka_volume_below_what_kafka_keeps_is_refused_with_the_reason_and_the_minimum():
    with pytest.raises(Exception) as error:
        deploy({**KUBERNETES, "kubernetes": {**KUBERNETES["kubernetes"], "volumeSizes": {"sentry-kafka": 10}}})
    assert ("error-tracking:kubernetes.volumeSizes.sentry-kafka: must be at least 30 GiB, what Kafka keeps: "
            "100 KB/s of ingest x 3 copies x (24 h retention + 3 h until a segment rolls), plus 2 GiB for offsets "
            "and metadata; got 10") in str(error.value)
    # A lower ingest rate lowers the minimum; a bigger disk is the operator's to give.
    for sizes, sentry, claimed in (({"sentry-kafka": 64}, {}, "64Gi"),
                                   ({"sentry-kafka": 10}, {"kafka": {"ingestKbPerSecond": 20}}, "10Gi"),
                                   ({}, {}, "30Gi")):
        deployment = deploy({**KUBERNETES, "sentry": {**KUBERNETES["sentry"], **sentry},
                             "kubernetes": {**KUBERNETES["kubernetes"], "volumeSizes": sizes}})
        (template,) = deployment.one("StatefulSet", "kafka").inputs["spec"]["volumeClaimTemplates"][:1]
        assert template["spec"]["resources"]["requests"]["storage"] == claimed
