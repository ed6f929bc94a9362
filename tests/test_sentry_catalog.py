"""Parity of the Sentry catalog with getsentry/self-hosted's compose file, for both profiles.

The reference (tests/reference/sentry-self-hosted-services.json) was read from self-hosted master
@89a143f8. We deploy the 26.8.0 tag, which differs from that master in the few places listed in
TAG_DIFFERENCES (checked with `git show 26.8.0:docker-compose.yml`). Where we differ from
upstream on purpose, DEVIATIONS says so, service by service; any other drift fails.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from components.apps.sentry import catalog, credentials, images, sizing, storage
from components.apps.sentry import services as sentry_services
from components.apps.sentry.settings import SentrySettings
from components.spec import BUILDS_IMAGES, SHARES_VOLUMES

REFERENCE = json.loads((Path(__file__).parent / "reference" / "sentry-self-hosted-services.json").read_text())
SERVICES = {name: item for name, item in REFERENCE.items() if name != "_meta"}
VERSION = "26.8.0"

# getsentry/self-hosted: master@89a143f8 (the reference) versus the 26.8.0 tag we deploy.
TAG_DIFFERENCES = {
    "images": {
        "kafka": ("confluentinc/cp-kafka:7.6.13", "confluentinc/cp-kafka:7.6.6"),
        "postgres": ("postgres:14.24-bookworm", "postgres:14.23-bookworm"),
        "clickhouse": ("altinity/clickhouse-server:25.8.28.10001.altinitystable",
                       "altinity/clickhouse-server:25.3.6.10034.altinitystable"),
    },
    # Master dropped these from x-snuba-defaults after the tag (self-hosted PR #4475).
    "snuba_env": {"UWSGI_MAX_REQUESTS", "UWSGI_DISABLE_LOGGING"},
    # .env at the tag: each *_IMAGE is ghcr.io/getsentry/<name>:26.8.0 (master: :nightly).
    "image_vars": {var: f"ghcr.io/getsentry/{name}:{VERSION}" for var, name in (
        ("SNUBA_IMAGE", "snuba"), ("RELAY_IMAGE", "relay"), ("SYMBOLICATOR_IMAGE", "symbolicator"),
        ("TASKBROKER_IMAGE", "taskbroker"), ("VROOM_IMAGE", "vroom"), ("UPTIME_CHECKER_IMAGE", "uptime-checker"),
        ("LAUNCHPAD_IMAGE", "launchpad"))},
}
SENTRY_SHAPED = {n for n, e in catalog.CATALOG.items() if e.shape == catalog.SENTRY}
BUILT = storage.BUILT_IMAGE.format(version=VERSION)
# Upstream's compose runs on one Docker host: the same platform capabilities as ours there.
ONE_DOCKER_HOST = frozenset({BUILDS_IMAGES, SHARES_VOLUMES})

# Where we differ from upstream on purpose.
DEVIATIONS = {
    # Published images instead of images built at install time.
    "image": {
        # The same build (the published image plus sentry-nodestore-s3), under a name of our own;
        # cleanup runs in it too instead of upstream's cron image.
        **{n: ("sentry-self-hosted-local", BUILT) for n in SENTRY_SHAPED - {"sentry-cleanup"}},
        "sentry-cleanup": ("sentry-cleanup-self-hosted-local", BUILT),
        "clickhouse": ("clickhouse-self-hosted-local", TAG_DIFFERENCES["images"]["clickhouse"][1]),
        # A maintained relay that runs as its own user, pinned (upstream's is untagged and root).
        "smtp": ("registry.gitlab.com/egos-tech/smtp", images.SMTP_IMAGE),
        # The same nginx release, built by nginx to run as its own user (port 8080).
        "nginx": ("nginx:1.31.3-alpine", "nginxinc/nginx-unprivileged:1.31.3-alpine"),
    },
    # The published image's own entrypoint: upstream's /etc/sentry/entrypoint.sh is a bind-mounted
    # script (custom CA certificates), and /entrypoint.sh is the cron image's.
    "entrypoint": {n: None for n in SENTRY_SHAPED},
    "command": {
        # Cleanup as a loop at 00:00 UTC instead of the cron line `0 0 * * * gosu sentry sentry cleanup`.
        "sentry-cleanup": ("/bin/sh", "-c", catalog.CLEANUP_LOOP.format(days=90)),
    },
    # Variables: secrets we add (upstream runs without passwords), the Kafka wiring sentry.conf.py
    # reads, upstream pass-throughs that are unset by default, SES relay not offered.
    "env_added": {
        # ... and the object store's keys, which upstream writes into sentry.conf.py (sentry/sentry).
        **{n: {"SENTRY_POSTGRES_PASSWORD", "SENTRY_REDIS_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
           for n in SENTRY_SHAPED},
        **{n: {"CLICKHOUSE_PASSWORD", "REDIS_PASSWORD"} | TAG_DIFFERENCES["snuba_env"]
           for n, e in catalog.CATALOG.items() if e.shape == catalog.SNUBA},
        # Data one level below the volume root (lost+found on block storage); a password.
        "postgres": {"POSTGRES_PASSWORD", "PGDATA"}, "pgbouncer": {"DB_PASSWORD", "PGPASSWORD"},
        "redis": {"REDISCLI_AUTH", "VALKEYCLI_AUTH"}, "clickhouse": {"CLICKHOUSE_DEFAULT_PASSWORD"},
        # The heap from the limit; segments roll each retention period (byte bounds only when asked).
        "kafka": {"KAFKA_HEAP_OPTS", "KAFKA_LOG_ROLL_HOURS", "KAFKA_LOG_DIRS"},
        # Relay's key pair as its own override variables instead of credentials.json (files/relay.py).
        "relay": {"RELAY_ID", "RELAY_PUBLIC_KEY", "RELAY_SECRET_KEY", "RELAY_REDIS_URL"},
        # devture/exim-relay's names: HELO name, who may relay, no sender DNS check (environment.py).
        "smtp": {"HOSTNAME", "RELAY_FROM_HOSTS", "DISABLE_SENDER_VERIFICATION"},
    },
    "env_removed": {
        **{n: {"SENTRY_MAX_EXTERNAL_SOURCEMAP_SIZE"} for n in SENTRY_SHAPED},
        "postgres": {"POSTGRES_HOST_AUTH_METHOD"},
        "smtp": {"MAILNAME", "SES_USER", "SES_PASSWORD", "SES_REGION"},
    },
    "env_value": {
        # A password instead of trust; `plain` keeps it usable for SCRAM towards Postgres (environment.py).
        "pgbouncer": {"AUTH_TYPE": ("trust", "plain")},
        # Upstream: a share of the whole host; ours: derived from ClickHouse's own limit.
        "clickhouse": {"MAX_MEMORY_USAGE_RATIO": (
            "0.3", lambda service: str(sizing.clickhouse_max_memory_ratio(service.resources.memory_mb)))},
    },
    # The cleanup loop records each run for the watchdog on a volume of its own.
    "mounts_added": {"sentry-cleanup": {(catalog.CLEANUP_STATUS_VOLUME, catalog.CLEANUP_STATUS_DIR)}},
    # The relay's spool where its image keeps it, in a volume of its own; its log goes to stdout.
    "volumes": {"smtp": {("sentry-smtp-spool", "/var/spool/exim")}},
    # Probes upstream does not have: Relay's and taskbroker's own health endpoints (health_checks.py).
    "health_added": {"relay", "taskbroker"},
    # Bind mounts we do not make: GeoIP (a binary placeholder), custom CA certificates. Config
    # directories become single files (catalog.FILES); redis.conf is rendered with a password.
    "binds_dropped": {"./geoip", "./certificates"},
}

DOTENV = REFERENCE["_meta"]["dotenv_defaults"]
SECRETS = credentials.Secrets("secret-key", "pg", "ch", "launchpad", "redis", "relay-id", "relay-public", "relay-secret",
                         "access", "secret")


def _built(profile: str):
    settings = SentrySettings(profile=profile, capabilities=ONE_DOCKER_HOST)
    return settings, {s.name: s for s in sentry_services.services(settings, credentials.Context(SECRETS, "errors.example.com"))}


def _resolve(text: str) -> str:
    """Compose's interpolation with .env defaults: ${X:-d} -> d, $X -> .env's value."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)
    return re.sub(r"\$([A-Z_]+)", lambda m: DOTENV.get(m.group(1), {"SENTRY_EVENT_RETENTION_DAYS": "90"}.get(
        m.group(1), m.group(0))), text)


def _expected_image(name: str, item: dict) -> str:
    if name in DEVIATIONS["image"]:
        upstream, ours = DEVIATIONS["image"][name]
        assert item["image"] == upstream, f"{name}: upstream image changed to {item['image']}"
        return ours
    if name in TAG_DIFFERENCES["images"]:
        master, tag = TAG_DIFFERENCES["images"][name]
        assert item["image"] == master
        return tag
    return TAG_DIFFERENCES["image_vars"].get(item["image"].lstrip("$"), item["image"])


@pytest.mark.parametrize("profile,count", [(catalog.ERRORS_ONLY, 28), (catalog.FEATURE_COMPLETE, 57)])
def test_service_names_match_upstream_profiles(profile, count):
    expected = {n for n, item in SERVICES.items()
                if profile == catalog.FEATURE_COMPLETE or item["profile"] == "default"}
    assert len(expected) == count == REFERENCE["_meta"]["counts"]["total" if count == 57 else
                                                          "default_profile_errors_only_and_feature_complete"]
    assert set(catalog.service_names(profile)) == expected
    _, built = _built(profile)
    assert set(built) == expected


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_images_commands_and_entrypoints_match_upstream(profile):
    _, built = _built(profile)
    for name, service in built.items():
        item = SERVICES[name]
        assert service.image == _expected_image(name, item), name
        if name in DEVIATIONS["command"]:
            assert service.command == DEVIATIONS["command"][name]
        else:
            expected = tuple(shlex.split(_resolve(item["command"]))) if item["command"] else None
            assert service.command == expected, name
        entrypoint = DEVIATIONS["entrypoint"].get(name, item["entrypoint"])
        assert service.entrypoint == ((entrypoint,) if isinstance(entrypoint, str) else entrypoint), name


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_dependencies_and_their_conditions_match_upstream(profile):
    settings, built = _built(profile)
    for name, service in built.items():
        item = SERVICES[name]
        expected = tuple(tuple(c.split(":")) for c in item["depends_on_conditions"])
        assert sentry_services.dependencies(name, settings) == expected, name
        assert service.depends_on == tuple(item["depends_on"]), name


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_environment_names_and_fixed_values_match_upstream(profile):
    _, built = _built(profile)
    for name, service in built.items():
        item = SERVICES[name]
        ours = set(service.env) | set(service.secret_env)
        added, removed = DEVIATIONS["env_added"].get(name, set()), DEVIATIONS["env_removed"].get(name, set())
        expected = (set(item["env"]) | added) - removed
        assert ours == expected, f"{name}: extra {ours - expected}, missing {expected - ours}"
        for key, value in item["env_values"].items():
            if value is None or "$" in value or key not in service.env:
                continue
            upstream, mine = DEVIATIONS["env_value"].get(name, {}).get(key, (value, value))
            mine = mine(service) if callable(mine) else mine
            assert value == upstream and service.env[key] == mine, f"{name}: {key}={service.env[key]!r}"


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_volumes_ulimits_and_health_checks_match_upstream(profile):
    _, built = _built(profile)
    for name, service in built.items():
        item = SERVICES[name]
        named = {tuple(v.split(":")[:2]) for v in item["volumes"] if not v.startswith(("bind:", "./"))}
        added = DEVIATIONS["mounts_added"].get(name, set())
        assert {(m.volume, m.path) for m in service.mounts} == DEVIATIONS["volumes"].get(name, named) | added, name
        nofile = (item["ulimits"] or {}).get("nofile", {}).get("soft")
        assert service.ulimits.get("nofile") == nofile, name
        upstream = item["healthcheck"] is not None
        assert (service.health is not None) == (upstream or name in DEVIATIONS["health_added"]), name


def test_bind_mounted_files_become_config_files_at_upstream_paths():
    _, built = _built(catalog.FEATURE_COMPLETE)
    for name, service in built.items():
        files = {f.path for f in service.files}
        for volume in SERVICES[name]["volumes"]:
            source, _, rest = volume.removeprefix("bind:").partition(":")
            target = rest.split(":")[0]
            if not source.startswith("./") or source in DEVIATIONS["binds_dropped"]:
                continue
            # A bound directory is satisfied by the files we mount inside it.
            assert any(path == target or path.startswith(target + "/") for path in files), (name, volume)


def test_every_image_is_pinned():
    for image in images.IMAGES.values():
        reference = image.reference.format(version=VERSION)
        assert "@sha256:" in reference or re.search(r":[\w.-]+$", reference), reference
        assert not reference.endswith((":latest", ":nightly"))


def test_published_sentry_image_replaced_by_the_operators_node_store_image():
    settings = SentrySettings(nodestore_image="registry.example.com/sentry-nodestore:26.8.0")
    built = {s.name: s for s in sentry_services.services(settings, credentials.Context(SECRETS))}
    assert {n for n, s in built.items() if s.image == settings.nodestore_image} == SENTRY_SHAPED & set(built)
    assert built["snuba-api"].image == f"ghcr.io/getsentry/snuba:{VERSION}"
