"""What `pulumi up` declares for self-hosted Sentry on one Docker host, through the real program."""

import ast
import json
import re

import pytest

from components.apps.sentry import catalog
from components.apps.sentry.images import IMAGES
from components.apps.sentry.relay_keys import relay_credentials
from tests.harness import deploy, env_of
from tests.secret_values import plain_strings

SENTRY = {"app": "sentry"}
HEX64 = ("0123456789abcdef" * 4)[:64]
HEX32 = ("0123456789abcdef" * 2)[:32]
INSTALL_ORDER = ["create-kafka-topics", "snuba-bootstrap", "sentry-upgrade", "create-admin", "bootstrap"]
# What the operations add beside upstream's services (tests/test_sentry_operations*.py).
OPERATIONS = {"backup", "drill", "offsite", "watchdog", "clickhouse-backup", "clickhouse-drill", "pre-upgrade-backup",
              "clickhouse-pre-upgrade-backup", "alert-test", "volume-owner-backups",
              "volume-owner-sentry-cleanup-status"}
# Helpers that hand a volume to a non-root service's user (nginx's cache).
HELPERS = {"volume-owner-sentry-nginx-cache"}


@pytest.fixture(scope="module")
def errors_only():
    return deploy(SENTRY)


@pytest.fixture(scope="module")
def feature_complete():
    return deploy({**SENTRY, "sentry": {"profile": "feature-complete"}})


def running(deployment) -> dict:
    """Every long-running container, the operations' included."""
    return {n[len("sentry-"):]: c for n, c in deployment.containers().items() if not c.inputs.get("attach")}


def services(deployment) -> dict:
    return {n: c for n, c in running(deployment).items() if n not in OPERATIONS}


def tasks(deployment) -> dict:
    return {n[len("sentry-"):]: c for n, c in deployment.containers().items()
            if c.inputs.get("attach") and n[len("sentry-"):] not in OPERATIONS | HELPERS}


def uploads(container) -> dict:
    return {u["file"]: u["content"] for u in container.inputs.get("uploads", [])}


@pytest.mark.parametrize("profile, fixture", [("errors-only", "errors_only"), ("feature-complete", "feature_complete")])
def test_each_upstream_service_runs_once_in_a_container_named_after_it(profile, fixture, request):
    deployment = request.getfixturevalue(fixture)
    assert set(services(deployment)) == set(catalog.service_names(profile))
    assert len(catalog.service_names(profile)) == (28 if profile == "errors-only" else 57)


@pytest.mark.parametrize("fixture, ceiling", [("errors_only", 7000), ("feature_complete", 14000)])
def test_memory_reservations_sum_within_upstreams_host_minimum(fixture, ceiling, request):
    everything = running(request.getfixturevalue(fixture))
    assert {"backup", "clickhouse-backup"} <= set(everything)  # the operations count too
    assert all(c.inputs["memory"] > 0 for c in everything.values())
    reserved = sum(c.inputs.get("memoryReservation") or c.inputs["memory"] for c in everything.values())
    assert reserved <= ceiling < sum(c.inputs["memory"] for c in everything.values())


def test_images_are_upstreams_published_ones_pinned_to_the_release(errors_only):
    images = {i.inputs["name"] for i in errors_only.of_type("docker:index/remoteImage:RemoteImage")}
    for name in ("snuba", "relay", "symbolicator", "taskbroker"):
        assert f"ghcr.io/getsentry/{name}:26.8.0" in images
    # Sentry's is built from the published one (tests/test_sentry_object_store.py), not pulled
    (build,) = errors_only.of_type("docker:index/image:Image")
    assert build.inputs["build"]["args"] == {"SENTRY_IMAGE": "ghcr.io/getsentry/sentry:26.8.0"}
    for image in images - {IMAGES["smtp"].reference}:
        assert re.search(r"(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$", image), image


def test_only_the_edge_nginx_is_published_and_only_on_loopback(errors_only):
    published = {n: c.inputs["ports"] for n, c in services(errors_only).items() if c.inputs.get("ports")}
    # nginx listens on 8080 inside (its unprivileged image); the host port is the operator's.
    assert published == {"nginx": [{"internal": 8080, "external": 8000, "ip": "127.0.0.1", "protocol": "tcp"}]}


def test_install_steps_run_in_upstreams_order_each_after_the_one_before(errors_only):
    steps = tasks(errors_only)
    order = ["create-buckets", *INSTALL_ORDER]  # the node store's bucket first, as upstream
    assert set(steps) == set(order)
    for before, after in zip(order, order[1:]):
        assert steps[before].urn in steps[after].dependencies, (before, after)
    assert steps["snuba-bootstrap"].inputs["command"] == ["bootstrap", "--force"]
    assert steps["sentry-upgrade"].inputs["command"] == ["sentry", "upgrade", "--noinput", "--create-kafka-topics"]
    assert steps["bootstrap"].inputs["logs"] is True


def test_long_running_services_wait_for_the_step_that_prepares_them(errors_only):
    steps, running = tasks(errors_only), services(errors_only)
    assert steps["sentry-upgrade"].urn in running["web"].dependencies
    assert steps["snuba-bootstrap"].urn in running["snuba-errors-consumer"].dependencies
    assert steps["create-kafka-topics"].urn in running["relay"].dependencies
    assert steps["sentry-upgrade"].urn not in running["postgres"].dependencies
    assert running["web"].urn in running["nginx"].dependencies


def test_feature_complete_creates_its_profiles_bucket_first(feature_complete):
    steps = tasks(feature_complete)
    assert steps["create-buckets"].urn in steps["create-kafka-topics"].dependencies
    assert "create-bucket --bucket profiles" in steps["create-buckets"].inputs["command"][0]
    assert env_of(steps["create-buckets"])["AWS_ACCESS_KEY_ID"] == ("0123456789abcdef" * 2)[:20]
    assert env_of(services(feature_complete)["seaweedfs"])["AWS_ACCESS_KEY_ID"] == ("0123456789abcdef" * 2)[:20]


def test_topics_are_created_with_upstreams_retention_before_snuba_makes_its_own(errors_only):
    topics = json.loads(env_of(tasks(errors_only)["create-kafka-topics"])["KAFKA_TOPICS"])
    names = {t["name"] for t in topics}
    assert {"ingest-events", "events", "snuba-commit-log", "outcomes"} <= names
    for topic in topics:
        assert int(topic["config"]["retention.ms"]) >= 24 * 3600 * 1000, topic
        assert "retention.bytes" not in topic["config"], topic


def test_no_generated_secret_is_declared_in_clear(errors_only, feature_complete):
    for deployment in (errors_only, feature_complete):
        leaked = [d.name for d in deployment.declared if any(v in s for v in (HEX64, HEX32) for s in plain_strings(d.raw))]
        assert leaked == []


def test_sentry_trusts_exactly_its_own_relay_key_derived_from_the_seed(errors_only):
    expected = relay_credentials(HEX64)
    relay = env_of(services(errors_only)["relay"])
    assert relay["RELAY_PUBLIC_KEY"] == expected.public_key and relay["RELAY_SECRET_KEY"] == expected.secret_key
    assert services(errors_only)["relay"].secret("envs")
    conf = uploads(services(errors_only)["web"])["/etc/sentry/sentry.conf.py"]
    ast.parse(conf)
    assert f"SENTRY_RELAY_WHITELIST_PK = [{expected.public_key!r}]" in conf


def test_sentry_knows_its_public_url_so_dsns_point_at_it(errors_only):
    config = uploads(services(errors_only)["web"])["/etc/sentry/config.yml"]
    assert "system.url-prefix: https://errors.example.com" in config or \
        "system.url-prefix: 'https://errors.example.com'" in config
    for dsn in errors_only.outputs["dsns"].values():
        assert re.fullmatch(r"https://[0-9a-f]{32}@errors\.example\.com/\d+", dsn)


def test_valkey_reads_a_generated_password_from_its_secret_config_file(errors_only):
    redis = services(errors_only)["redis"]
    assert redis.inputs["command"] == ["valkey-server", "/usr/local/etc/redis/redis.conf"]
    assert f"requirepass {HEX32}" in uploads(redis)["/usr/local/etc/redis/redis.conf"]
    assert redis.secret("uploads")


def test_dsns_admin_password_and_the_ci_token_are_secret_outputs(errors_only):
    assert {"dsns", "adminPassword", "authToken"} <= errors_only.secret_outputs
    assert errors_only.outputs["authToken"].startswith("sntrys_")
    # and where this deployment keeps payloads and files, for the next one to check
    assert errors_only.outputs["deployed"] == {"app": "sentry", "version": "26.8.0", "nodestore": "s3",
                                               "filestore": "filesystem"}


def test_a_jump_across_an_upgrade_hard_stop_is_refused_already_at_preview():
    for preview in (True, False):
        with pytest.raises(Exception) as error:
            deploy(SENTRY, preview=preview, previous={"deployed": {"app": "sentry", "version": "24.1.0"}})
        assert "24.8.0" in str(error.value) and "25.5.1" in str(error.value)


def test_a_release_after_the_deployed_one_without_a_hard_stop_between_goes_ahead():
    deployment = deploy(SENTRY, previous={"deployed": {"app": "sentry", "version": "26.7.0"}})
    assert deployment.outputs["deployed"]["version"] == "26.8.0"


def test_glitchtip_store_urls_are_refused_for_sentry_by_name():
    with pytest.raises(Exception) as error:
        deploy({**SENTRY, "databaseUrl": "postgres://u:p@db/x"}, secret_keys=("databaseUrl",))
    assert "error-tracking:databaseUrl: is read for GlitchTip only; for Sentry set sentry.external.postgres" \
        in str(error.value)


def test_an_external_kafka_replaces_the_bundled_broker_and_its_password_stays_secret():
    deployment = deploy({**SENTRY, "sentry": {"external": {"kafka": {
        "bootstrapServers": ["broker-1.internal:9093"], "securityProtocol": "SASL_SSL",
        "sasl": {"mechanism": "SCRAM-SHA-512", "username": "sentry", "password": "KafkaPw-77"}}}}},
        secret_keys=("sentry",))
    assert "kafka" not in services(deployment)
    topics = tasks(deployment)["create-kafka-topics"]
    assert env_of(topics)["KAFKA_BOOTSTRAP_SERVERS"] == "broker-1.internal:9093"
    assert env_of(topics)["KAFKA_SASL_PASSWORD"] == "KafkaPw-77"
    assert not [d.name for d in deployment.declared if any("KafkaPw-77" in s for s in plain_strings(d.raw))]
