"""Sentry's services: secrets only in secret_env, wiring that follows settings, a description that validates."""

from __future__ import annotations

import dataclasses

import pytest

from components import spec
from components.apps.sentry import catalog, credentials, sizing
from components.apps.sentry import services as sentry_services
from components.apps.sentry.settings import parse_settings
from components.validation import Problems, Section
from tests.harness import own_event_loop

SECRETS = credentials.Secrets(*(f"SENTINEL-{name}" for name in (
    "secret-key", "postgres", "clickhouse", "launchpad", "redis", "relay-id", "relay-public", "relay-secret",
    "access", "object-secret", "sasl", "mail")))
EXTERNAL = {"external": {
    "postgres": {"host": "db.internal", "password": "p", "sslMode": "require"},
    "kafka": {"bootstrapServers": "k1:9092,k2:9093", "securityProtocol": "SASL_SSL",
              "sasl": {"mechanism": "PLAIN", "username": "sentry", "password": "s"}},
    "clickhouse": {"host": "ch.internal", "password": "c"}, "redis": {"host": "cache.internal", "tls": True},
    "s3": {"endpointUrl": "https://s3.example.com", "accessKeyId": "a", "secretAccessKey": "b"}},
    "mail": {"host": "smtp.example.com", "useTls": True, "username": "u", "password": "m"}}


def settings_of(data):
    problems = Problems()
    settings = parse_settings(Section(data, "error-tracking:sentry", problems), problems)
    problems.raise_if_any()
    return settings


def built(data, capabilities=frozenset()):
    settings = dataclasses.replace(settings_of(data), capabilities=frozenset(capabilities))
    return {s.name: s for s in sentry_services.services(settings, credentials.Context(SECRETS, "errors.example.com"))}


# What a Docker host can do (components/platforms/docker): build images, share volumes.
DOCKER = frozenset({spec.BUILDS_IMAGES, spec.SHARES_VOLUMES})


def app(services):
    services = tuple(services.values())
    files = tuple(spec.ConfigFile(name, "x") for name in catalog.FILES)
    return spec.AppSpec("sentry", "26.8.0", services, (), sentry_services.volumes(settings_of({}), services),
                        spec.Entrypoint("nginx", 8080, "/_health/"), files=files)


CASES = [{}, {"profile": "feature-complete"}, {"profile": "feature-complete", **EXTERNAL},
         {"nodestoreImage": "r.example.com/sentry-s3:26.8.0", "workers": {"replicas": {"events-consumer": 3}}}]


@pytest.mark.parametrize("data", CASES)
def test_secrets_reach_containers_only_as_secret_env(data):
    services = built(data)
    for service in services.values():
        for key, value in service.env.items():
            assert "SENTINEL" not in value, (service.name, key)
    used = {str(v) for s in services.values() for v in s.secret_env.values() if isinstance(v, str)}
    assert "SENTINEL-secret-key" in used and "SENTINEL-postgres" in used


@pytest.mark.parametrize("data", CASES)
def test_the_description_validates_and_starts_in_order(data):
    description = app(built(data))
    description.validate()
    order = [w.name for w in description.start_order()]
    assert order.index("web") < order.index("nginx")
    if "kafka" in order:
        assert order.index("kafka") < order.index("events-consumer")


def test_external_stores_become_egress_and_wiring():
    services = built({"profile": "feature-complete", **EXTERNAL})
    assert "postgres" not in services["pgbouncer"].depends_on
    assert services["pgbouncer"].env["DB_HOST"] == "db.internal"
    assert services["pgbouncer"].env["SERVER_TLS_SSLMODE"] == "require"
    assert spec.Egress("postgres", (5432,)) in services["pgbouncer"].egress
    web = services["web"]
    assert web.secret_env["KAFKA_SASL_PASSWORD"] == "SENTINEL-sasl"  # address and user: in sentry.conf.py
    assert services["snuba-api"].env["DEFAULT_BROKERS"] == "k1:9092,k2:9093"
    assert services["snuba-api"].env["KAFKA_SASL_MECHANISM"] == "PLAIN"
    assert services["relay"].secret_env["KAFKA_SASL_PASSWORD"] == "SENTINEL-sasl"
    assert spec.Egress("kafka", (9092, 9093)) in web.egress and spec.Egress("mail", (587,)) in web.egress
    assert "kafka" not in web.depends_on and "smtp" not in web.connects_to
    snuba = services["snuba-errors-consumer"]
    assert snuba.env["CLICKHOUSE_HOST"] == "ch.internal" and snuba.env["REDIS_SSL"] == "1"
    assert services["taskbroker"].secret_env["TASKBROKER_KAFKA_CLUSTERS__DEFAULT__SASL_PASSWORD"] == "SENTINEL-sasl"
    bucket = services["vroom"].env["SENTRY_BUCKET_PROFILES"]
    assert bucket.startswith("s3://profiles?region=us-east-1&endpoint=s3.example.com")
    assert "disableSSL=false" in services["vroom"].env["SENTRY_BUCKET_PROFILES"]


def test_network_peers_follow_what_each_service_reaches():
    errors_only = built({})  # no volume shared for free: uploaded files live in SeaweedFS
    assert errors_only["web"].connects_to == ("pgbouncer", "redis", "memcached", "kafka", "snuba-api",
                                              "symbolicator", "seaweedfs", "smtp")
    assert "taskbroker" in errors_only["taskworker"].connects_to
    assert errors_only["nginx"].connects_to == ("web", "relay")
    assert errors_only["relay"].connects_to == ("kafka", "redis", "web")
    feature_complete = built({"profile": "feature-complete"})
    assert {"seaweedfs", "vroom"} <= set(feature_complete["web"].connects_to)  # profiles live in S3
    assert spec.Egress("internet", (80, 443), public=True) in feature_complete["uptime-checker"].egress


def test_web_and_the_taskworker_reach_integrations_over_https_under_a_name_of_their_own():
    """Webhooks and integrations (Slack, Jira, GitHub, PagerDuty, SSO) leave from web and the
    taskworker only: a public destination the operator can narrow or close by its name."""
    services = built({"profile": "feature-complete"})
    reaching = {name for name, s in services.items() if any(e.name == "integrations" for e in s.egress)}
    assert reaching == {"web", "taskworker"}
    for name in reaching:
        assert spec.Egress("integrations", (443,), public=True) in services[name].egress


def test_commands_follow_settings():
    services = built({"eventRetentionDays": 30, "kafka": {"maxPollIntervalMs": 60000},
                      "workers": {"taskworkerConcurrency": 8}})
    assert services["events-consumer"].command[-2:] == ("--max-poll-interval-ms", "60000")
    assert "--concurrency=8" in services["taskworker"].command
    assert "sentry cleanup --days 30" in services["sentry-cleanup"].command[-1]
    assert services["web"].env["SENTRY_EVENT_RETENTION_DAYS"] == "30"


def test_self_capping_stores_are_told_their_limits():
    services = built({"resources": {"kafka": {"memoryMb": 2048}, "clickhouse": {"memoryMb": 4096},
                                    "redis": {"memoryMb": 512}}})
    assert services["kafka"].env["KAFKA_HEAP_OPTS"] == "-Xmx512m -Xms512m"  # a quarter of the limit
    assert services["clickhouse"].env["MAX_MEMORY_USAGE_RATIO"] == str(sizing.clickhouse_max_memory_ratio(4096))
    assert services["kafka"].env["KAFKA_LOG_RETENTION_HOURS"] == "3"
    assert services["kafka"].resources.memory_mb == 2048


def test_consumers_scale_to_their_partitions_and_singletons_stay_single():
    services = built({"profile": "feature-complete", "workers": {"replicas": {"events-consumer": 3, "web": 2}}})
    assert (services["events-consumer"].replicas, services["events-consumer"].max_replicas) == (3, 3)
    assert services["web"].max_replicas is None and services["web"].replicas == 2
    for single in ("taskscheduler", "monitors-clock-tick", "snuba-subscription-consumer-events", "sentry-cleanup",
                   "postgres", "kafka", "clickhouse", "taskbroker"):
        assert services[single].max_replicas == 1, single
    assert services["snuba-errors-consumer"].max_replicas == 1


def test_health_checks_match_each_process():
    services = built({"profile": "feature-complete"})
    consumer = services["events-consumer"].health
    assert isinstance(consumer.probe, spec.CommandProbe) and "/tmp/health.txt" in consumer.probe.command[-1]
    assert (consumer.interval_seconds, consumer.retries, consumer.start_period_seconds) == (60, 3, 600)
    assert services["web"].health.probe.path == "/_health/" and services["web"].health.start_period_seconds == 300
    assert services["snuba-api"].health.probe.command == ("python3", "/usr/src/snuba/api_healthcheck.py")
    assert any(f.path == "/usr/src/snuba/api_healthcheck.py" for f in services["snuba-api"].files)
    # Upstream has none; Relay's own endpoints: ready gates traffic, live decides restarts.
    relay = services["relay"].health
    assert (relay.probe.path, relay.probe.port) == ("/api/relay/healthcheck/ready/", 3000)
    assert (relay.liveness.path, relay.liveness.port) == ("/api/relay/healthcheck/live/", 3000)
    assert relay.alive.command[:1] == ("/bin/relay",) and relay.alive.command[-2:] == ("--mode", "live")
    broker = services["taskbroker"].health
    assert isinstance(broker.probe, spec.GrpcProbe)
    assert (broker.probe.port, broker.probe.service) == (50051, "sentry_protos.taskbroker.v1.ConsumerService")


def test_images_run_as_their_users():
    services = built({"profile": "feature-complete"})
    assert (services["web"].run_as_user, services["web"].run_as_group) == (999, 999)
    assert services["snuba-api"].run_as_user == 1000
    # The stores run as their images' own users from the start: no root, no capabilities.
    for name, uid, gid in (("postgres", 999, 999), ("clickhouse", 101, 101), ("seaweedfs", 1000, 1000),
                           ("smtp", 100, 101)):
        service = services[name]
        assert (service.run_as_user, service.run_as_group, service.root, service.capabilities) == \
            (uid, gid, False, ()), name
    assert not services["web"].root


def test_valkey_reads_its_password_from_upstreams_config_file_path_never_from_arguments():
    redis = built({"resources": {"redis": {"memoryMb": 400}}})["redis"]
    assert redis.entrypoint is None and redis.command == ("valkey-server", "/usr/local/etc/redis/redis.conf")
    assert [(f.file, f.path) for f in redis.files] == [("redis-conf", "/usr/local/etc/redis/redis.conf")]
    assert redis.secret_env["REDISCLI_AUTH"] == "SENTINEL-redis"  # the health check's ping authenticates
    assert not any("SENTINEL" in part for part in redis.command)
    assert (redis.run_as_user, redis.root) == (999, False)  # the valkey user reads the secret file


def test_redis_urls_quote_the_password_and_travel_as_secrets():
    def urls(data, password):
        settings = settings_of(data)
        secrets = credentials.Secrets("k", "p", "c", "l", redis_password=password, relay_id="i", relay_public_key="pk",
                                 relay_secret_key="sk")
        services = {s.name: s for s in sentry_services.services(settings, credentials.Context(secrets))}
        return (services["relay"].secret_env["RELAY_REDIS_URL"],
                services["uptime-checker"].secret_env["UPTIME_CHECKER_REDIS_HOST"])

    assert urls({"profile": "feature-complete"}, "p@ss/w:rd") == (
        "redis://:p%40ss%2Fw%3Ard@redis:6379/0", "redis://:p%40ss%2Fw%3Ard@redis:6379")
    external = {"profile": "feature-complete", "external": {
        "redis": {"host": "cache.internal", "port": 6380, "db": 2, "tls": True}}}
    assert urls(external, "p@ss/w:rd") == ("rediss://:p%40ss%2Fw%3Ard@cache.internal:6380/2",
                                           "rediss://:p%40ss%2Fw%3Ard@cache.internal:6380")
    assert urls(external, None) == ("rediss://cache.internal:6380/2", "rediss://cache.internal:6380")


def test_a_generated_redis_password_stays_an_output():
    import pulumi

    async def resolve():
        relay, uptime = urls_of(pulumi.Output.secret("s3cr:t"))
        return await relay.future(), await relay.is_secret(), await uptime.future()

    def urls_of(password):
        secrets = credentials.Secrets("k", "p", "c", "l", redis_password=password)
        services = {s.name: s for s in sentry_services.services(settings_of({"profile": "feature-complete"}),
                                                       credentials.Context(secrets))}
        return (services["relay"].secret_env["RELAY_REDIS_URL"],
                services["uptime-checker"].secret_env["UPTIME_CHECKER_REDIS_HOST"])

    with own_event_loop() as loop:
        assert loop.run_until_complete(resolve()) == ("redis://:s3cr%3At@redis:6379/0", True,
                                                      "redis://:s3cr%3At@redis:6379")


# --- what nothing uses is not deployed -----------------------------------------------------------

def test_seaweedfs_runs_only_for_what_keeps_data_in_it():
    # Docker: the node store in S3 (the built image), files on sentry-data
    docker = built({}, DOCKER)
    assert "seaweedfs" in docker and "seaweedfs" in docker["web"].connects_to
    assert ("seaweedfs", "service_started") in sentry_services.dependencies(
        "web", dataclasses.replace(settings_of({}), capabilities=DOCKER))
    # event payloads in Postgres and files on sentry-data, errors-only: nothing left for SeaweedFS
    unused = built({"nodestore": "postgres"}, DOCKER)
    assert "seaweedfs" not in unused
    for service in unused.values():
        assert "seaweedfs" not in (*service.connects_to, *service.depends_on), service.name
        assert "AWS_ACCESS_KEY_ID" not in service.secret_env or service.name == "vroom", service.name
    # profiles alone keep it, as do uploaded files where no volume is shared
    assert "seaweedfs" in built({"nodestore": "postgres", "profile": "feature-complete"}, DOCKER)
    assert "seaweedfs" in built({"nodestore": "postgres"}, {spec.BUILDS_IMAGES})
    assert "seaweedfs" not in built({"nodestore": "postgres", "filestore": "filesystem"})


def test_the_bundled_mail_relay_runs_only_when_sentry_sends_through_it():
    assert "smtp" in built({}, DOCKER) and "smtp" in built({})["web"].connects_to
    external = built({"mail": {"host": "smtp.example.com", "port": 587}}, DOCKER)
    assert "smtp" not in external
    for service in external.values():
        assert "smtp" not in (*service.connects_to, *service.depends_on), service.name
    assert spec.Egress("mail", (587,)) in external["web"].egress
