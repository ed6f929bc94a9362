"""Kafka topics for the deployed Sentry services: which, how many partitions, what retention."""

from __future__ import annotations

import sentry_kafka_schemas

from components.apps.sentry import catalog, credentials, topics
from components.apps.sentry import services as sentry_services
from components.apps.sentry.settings import Kafka, SentrySettings

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
    assert bound == sum(t.partitions * (int(t.config["retention.bytes"]) + int(t.config["segment.bytes"]))
                        for t in created)
    assert topics.disk_bound_bytes(topics.topics(ERRORS_ONLY, {}, 3, None)) is None


def test_kafka_volume_is_sized_from_the_topics_bound():
    small = SentrySettings(kafka=Kafka(3, 64, 300000))
    large = SentrySettings(kafka=Kafka(3, 2048, 300000))

    def size(settings):
        volumes = sentry_services.volumes(settings, (catalog_service("kafka"),))
        return {v.name: v.size_gb for v in volumes}["sentry-kafka"]

    assert size(small) < size(large)
    bound = topics.disk_bound_bytes(sentry_services.kafka_topics(large))
    assert size(large) * (1 << 30) >= bound


def catalog_service(name):
    settings = SentrySettings()
    return sentry_services.service(name, settings, credentials.Context(credentials.Secrets("a", "b", "c", "d", "e")), {})
