"""The `sentry:` settings: defaults, and every wrong input refused by its full key."""

from __future__ import annotations

import pytest

from components.apps.sentry import catalog
from components.apps.sentry.settings import SentrySettings, parse_settings
from components.spec import Resources
from components.validation import ConfigError, Problems, Section

KEY = "error-tracking:sentry"


def parse(data: dict) -> SentrySettings:
    problems = Problems()
    settings = parse_settings(Section(data, KEY, problems), problems)
    problems.raise_if_any()
    return settings


def refused(data: dict) -> str:
    with pytest.raises(ConfigError) as error:
        parse(data)
    return str(error.value)


def test_defaults_are_upstreams():
    settings = parse({})
    assert (settings.version, settings.profile, settings.event_retention_days) == ("26.8.0", "errors-only", 90)
    # Kafka: upstream's per-topic retention, no operator bound.
    assert settings.taskworker_concurrency == 4 and settings.kafka.retention_hours is None
    assert settings.kafka.retention_bytes is None and settings.kafka.ingest_kb_per_second == 100
    assert settings.kafka.max_poll_interval_ms == 300000
    assert settings.nodestore == "postgres" and settings.mail is None
    assert set(settings.resources) == set(catalog.service_names("errors-only"))
    assert settings == SentrySettings(resources=settings.resources)


@pytest.mark.parametrize("version,why", [
    ("latest", "must be a pinned release"), ("nightly", "must be a pinned release"),
    ("v26.8.0", "must be a CalVer release"), ("26.8", "must be a CalVer release"),
    ("26.9.0", "must be a 26.8.x release"), ("25.5.1", "must be a 26.8.x release")])
def test_moving_or_foreign_versions_are_refused(version, why):
    assert f"{KEY}.version: {why}" in refused({"version": version})


def test_a_patch_release_of_the_catalog_line_is_accepted():
    assert parse({"version": "26.8.1"}).version == "26.8.1"


def test_profile_typo_and_unknown_keys_are_refused():
    assert f"{KEY}.profile: must be one of errors-only, feature-complete" in refused({"profile": "errors"})
    assert f"{KEY}.profle: unknown setting" in refused({"profle": "errors-only"})


def test_resources_override_and_are_checked_by_service():
    settings = parse({"resources": {"clickhouse": {"memoryMb": 2048, "cpu": 2}}})
    # The limit is the operator's; the reservation stays the typical use, swap as much as the limit.
    assert settings.resources["clickhouse"] == Resources(2048, 2.0, memory_request_mb=352, cpu_request=0.2,
                                                         swap_mb=2048)
    settings = parse({"resources": {"web": {"memoryMb": 2048, "memoryRequestMb": 1536, "cpuRequest": 0.5}}})
    assert (settings.resources["web"].memory_request_mb, settings.resources["web"].cpu_request) == (1536, 0.5)
    assert f"{KEY}.resources.web.memoryRequestMb: must be at most memoryMb (2048); got 4096" in refused(
        {"resources": {"web": {"memoryMb": 2048, "memoryRequestMb": 4096}}})
    assert f"{KEY}.resources.web.cpuRequest: must be at most cpu (1); got 2" in refused(
        {"resources": {"web": {"cpuRequest": 2}}})
    assert f"{KEY}.resources.webb: is not a Sentry service" in refused({"resources": {"webb": {"memoryMb": 900}}})
    assert f"{KEY}.resources.vroom: is not deployed with profile errors-only" in refused(
        {"resources": {"vroom": {"memoryMb": 512}}})
    message = refused({"resources": {"clickhouse": {"memoryMb": 256}}})
    assert f"{KEY}.resources.clickhouse.memoryMb: is below the floor of 352 MB for clickhouse" in message
    assert f"{KEY}.resources.web.memoryMb: unknown" not in refused({"resources": {"web": {"memoryMb": 10}}})


def test_taskworker_floor_follows_its_concurrency():
    message = refused({"workers": {"taskworkerConcurrency": 16}, "resources": {"taskworker": {"memoryMb": 512}}})
    assert f"{KEY}.resources.taskworker.memoryMb: is below the floor" in message
    settings = parse({"workers": {"taskworkerConcurrency": 8}})
    assert settings.resources["taskworker"].memory_mb > parse({}).resources["taskworker"].memory_mb


def test_replicas_are_bounded_by_topics_and_singletons():
    settings = parse({"profile": "feature-complete", "workers": {"replicas": {"events-consumer": 4, "web": 3}}})
    assert settings.replicas == {"events-consumer": 4, "web": 3}
    message = refused({"profile": "feature-complete", "workers": {"replicas": {
        "monitors-clock-tick": 2, "snuba-errors-consumer": 2, "postgres": 2, "taskscheduler": 2}}})
    assert (f"{KEY}.workers.replicas.monitors-clock-tick: is bounded by its Kafka topics (monitors-clock-tick) to 1"
            in message)
    assert f"{KEY}.workers.replicas.snuba-errors-consumer: is bounded by its Kafka topics (events) to 1" in message
    assert f"{KEY}.workers.replicas.postgres: runs a single replica" in message
    assert f"{KEY}.workers.replicas.taskscheduler: runs a single replica" in message
    assert f"{KEY}.workers.replicas.nope: is not a Sentry service" in refused({"workers": {"replicas": {"nope": 2}}})


def test_mail_is_validated_and_its_password_never_echoed():
    settings = parse({"mail": {"host": "smtp.example.com", "useTls": True, "username": "u", "password": "pw-123",
                               "from": "sentry@example.com"}})
    assert (settings.mail.port, settings.mail.use_tls) == (587, True)
    message = refused({"mail": {"host": "smtp.example.com", "useTls": True, "useSsl": True, "password": 42}})
    assert f"{KEY}.mail.useSsl: cannot be combined with useTls" in message
    assert f"{KEY}.mail.password: must be a string, got a secret value (not shown)" in message
    assert "pw-123" not in refused({"mail": {"host": "smtp://x", "password": "pw-123"}})
    assert f"{KEY}.mail.password: needs mail.username" in refused({"mail": {"host": "smtp.example.com",
                                                                            "password": "pw-123"}})


def test_external_stores_replace_bundled_services():
    settings = parse({"profile": "feature-complete", "external": {
        "postgres": {"host": "db.internal", "password": "p"},
        "kafka": {"bootstrapServers": "k1:9092,k2:9093", "securityProtocol": "SASL_SSL",
                  "sasl": {"mechanism": "SCRAM-SHA-512", "username": "sentry", "password": "s"}},
        "clickhouse": {"host": "ch.internal", "password": "c", "secure": True},
        "redis": {"host": "cache.internal"}, "s3": {"endpointUrl": "https://s3.example.com",
                                                    "accessKeyId": "a", "secretAccessKey": "b"}}})
    assert set(settings.external.present) == {"postgres", "redis", "kafka", "clickhouse", "s3"}
    assert not {"postgres", "redis", "kafka", "clickhouse", "seaweedfs"} & set(settings.deployed_services)
    assert "pgbouncer" in settings.deployed_services
    assert settings.external.kafka.bootstrap_servers == ("k1:9092", "k2:9093")
    assert settings.external.clickhouse.tcp_port == 9440
    assert f"{KEY}.resources.postgres: runs outside this stack (external.postgres)" in refused(
        {"external": {"postgres": {"host": "db", "password": "p"}}, "resources": {"postgres": {"memoryMb": 999}}})


def test_external_settings_are_validated_by_key():
    message = refused({"external": {
        "kafka": {"bootstrapServers": "http://k1", "sasl": {"mechanism": "PLAIN"}},
        "postgres": {"host": "db internal"}, "clickhouse": {"host": "ch"}, "s3": {"endpointUrl": "s3.example.com"},
        "mysql": {}}})
    assert f"{KEY}.external.kafka.bootstrapServers: must be host:port entries" in message
    assert f"{KEY}.external.kafka.sasl: needs securityProtocol SASL_PLAINTEXT or SASL_SSL" in message
    assert f"{KEY}.external.postgres.host: must be a host name" in message
    assert f"{KEY}.external.postgres.password: is required" in message
    assert f"{KEY}.external.clickhouse.password: is required" in message
    assert f"{KEY}.external.s3.endpointUrl: must be an absolute URL" in message
    assert f"{KEY}.external.s3.accessKeyId: is required" in message
    assert f"{KEY}.external.mysql: unknown setting" in message
    sasl = refused({"external": {"kafka": {"bootstrapServers": ["k:9092"], "securityProtocol": "SASL_SSL",
                                           "sasl": {"mechanism": "GSSAPI", "password": "hunter2"}}}})
    assert f"{KEY}.external.kafka.sasl.mechanism: must be one of PLAIN" in sasl
    assert f"{KEY}.external.kafka.sasl.username: is required" in sasl
    assert "hunter2" not in sasl


def test_env_refuses_what_the_program_sets():
    settings = parse({"env": {"SENTRY_FEATURE_X": True, "SENTRY_SINGLE_ORGANIZATION": 1}})
    assert settings.env == {"SENTRY_FEATURE_X": "true", "SENTRY_SINGLE_ORGANIZATION": "1"}
    message = refused({"env": {"SENTRY_SYSTEM_SECRET_KEY": "x", "COMPOSE_PROFILES": "y", "1BAD": "z", "X": {}}})
    assert f"{KEY}.env.SENTRY_SYSTEM_SECRET_KEY: is set by this program" in message
    assert f"{KEY}.env.COMPOSE_PROFILES: is set by this program" in message
    assert f"{KEY}.env.1BAD: is not an environment variable name" in message
    assert f"{KEY}.env.X: must be a string, number or boolean" in message


def test_node_store_image_must_be_pinned_and_selects_s3():
    settings = parse({"nodestoreImage": "registry.example.com/sentry-s3:26.8.0"})
    assert settings.nodestore == "s3" and settings.uses_object_store
    assert f"{KEY}.nodestoreImage: must be an image with a pinned tag" in refused(
        {"nodestoreImage": "registry.example.com/sentry-s3:latest"})
    assert parse({"nodestoreImage": "r.example.com/s@sha256:" + "a" * 64}).nodestore == "s3"


def test_kafka_tuning_is_bounded():
    settings = parse({"kafka": {"retentionHours": 24, "retentionMbPerPartition": 1024, "maxPollIntervalMs": 60000}})
    assert settings.kafka.retention_bytes == 1024 << 20
    message = refused({"kafka": {"retentionHours": 0}})
    assert f"{KEY}.kafka.retentionHours: must be a whole number from 1 to 720" in message
