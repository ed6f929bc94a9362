"""Mistakes a new user makes, each refused before any resource is declared, by its full key, with
the reason; never a traceback, never a setting accepted and silently ignored."""

from __future__ import annotations

from typing import Any

import pytest

from components import configuration
from components.stack import preflight
from components.validation import ConfigError
from tests.harness import BASE_CONFIG

# A cluster stack names its edge, and a ReadWriteMany class for GlitchTip's shared uploads.
CLUSTER = {"ingress": {"controllerNamespace": "ingress-nginx"}, "sharedStorageClass": "nfs-rwx"}
K8S = {"platform": "kubernetes", "kubernetes": CLUSTER}
SENTRY_K8S = {"app": "sentry", "platform": "kubernetes", "sentry": {"internalNetworks": ["10.1.0.0/16"]},
              "kubernetes": CLUSTER}
DB_URL = "postgres://gt:pw@db.internal:5432/gt"
VALKEY_URL = "redis://:pw@cache.internal:6379/0"
OFFSITE = {"endpoint": "https://s3.example.com", "bucket": "backups", "accessKeyId": "AKIAEXAMPLE",
           "secretAccessKey": "c2VjcmV0LWtleS1leGFtcGxl"}
EXTERNAL_STORES = {"postgres": {"host": "db.internal", "password": "pw"},
                   "clickhouse": {"host": "ch.internal", "password": "pw"}}


def refused(overrides: dict[str, Any], secret_keys=()) -> list[str]:
    """The problems the program reports for BASE_CONFIG + `overrides`, before any resource; any
    other exception (a traceback) fails the test."""
    with pytest.raises(ConfigError) as error:
        preflight(configuration.load({**BASE_CONFIG, **overrides}, frozenset(secret_keys)))
    return error.value.problems


def accepted(overrides: dict[str, Any], secret_keys=()) -> None:
    preflight(configuration.load({**BASE_CONFIG, **overrides}, frozenset(secret_keys)))


CASES = [
    # The public URL: scheme and host only, a host Django and an Ingress accept.
    ("url-with-path", {"url": "https://example.com/errors"}, (),
     "error-tracking:url: must not have a path: the tracker is served at the root of its host"),
    ("sentry-url-with-path", {"app": "sentry", "url": "https://example.com/sentry/"}, (),
     "error-tracking:url: must not have a path"),
    ("url-with-query", {"url": "https://errors.example.com?team=a"}, (),
     "error-tracking:url: must not have a query string or fragment"),
    ("url-with-query-after-path", {"url": "https://errors.example.com/?team=a"}, (),
     "error-tracking:url: must not have a query string or fragment"),
    ("url-with-fragment", {"url": "https://errors.example.com/#x"}, (),
     "error-tracking:url: must not have a query string or fragment"),
    ("url-host-with-underscore", {"url": "https://error_tracking.example.com"}, (),
     "error-tracking:url: has a host that is not a DNS name"),
    ("kubernetes-url-host-with-underscore", {**K8S, "url": "https://error_tracking.example.com"}, (),
     "error-tracking:url: has a host that is not a DNS name"),
    ("kubernetes-url-ip-host", {**K8S, "url": "https://192.0.2.10"}, (),
     "error-tracking:url: has an IP address as its host, which an Ingress or HTTPRoute cannot serve"),
    ("kubernetes-http-url-with-issuer", {**K8S, "url": "http://errors.example.com",
                                         "kubernetes": {"ingress": {"clusterIssuer": "letsencrypt"}}}, (),
     "error-tracking:kubernetes.ingress.clusterIssuer: is not used: the url is http://"),
    # DSN targets: one writer per Secret or file.
    ("two-keys-in-one-secret", {**K8S, "dsnTargets": [
        {"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "dsns", "key": "API_DSN"}},
        {"project": "web", "kubernetesSecret": {"namespace": "shop", "name": "dsns", "key": "WEB_DSN"}}]}, (),
     "error-tracking:dsnTargets[1].kubernetesSecret: writes the same destination, with another key, as "
     "dsnTargets[0].kubernetesSecret"),
    ("two-keys-in-one-env-file", {"dsnTargets": [
        {"project": "api", "envFile": {"path": "/opt/app/.env", "key": "API_DSN"}},
        {"project": "web", "envFile": {"path": "/opt/app/.env", "key": "WEB_DSN"}}]}, (),
     "error-tracking:dsnTargets[1].envFile: writes the same destination, with another key, as dsnTargets[0].envFile"),
    # Sentry on Kubernetes: Symbolicator's system token needs the pod network.
    ("sentry-kubernetes-without-internal-networks", {"app": "sentry", "platform": "kubernetes"}, (),
     "error-tracking:sentry.internalNetworks: is required on Kubernetes: a pod's own network is a /32 there"),
    # Settings accepted and used by nothing.
    ("valkey-url-without-valkey", {"valkeyUrl": VALKEY_URL, "glitchtip": {"valkey": False}}, ("valkeyUrl",),
     "error-tracking:valkeyUrl: is not used: glitchtip.valkey is false"),
    ("offsite-with-external-database", {"databaseUrl": DB_URL, "backup": {"offsite": OFFSITE}},
     ("databaseUrl", "backup"), "error-tracking:backup.offsite: is not used: with databaseUrl the database is yours"),
    ("backup-hour-with-external-database", {"databaseUrl": DB_URL, "backup": {"hour": 4}}, ("databaseUrl",),
     "error-tracking:backup.hour: is not used"),
    ("postgres-image-with-external-database", {"databaseUrl": DB_URL, "glitchtip": {"postgresImage": "postgres:17.6"}},
     ("databaseUrl",), "error-tracking:glitchtip.postgresImage: is not used: databaseUrl replaces the Postgres"),
    ("postgres-size-with-external-database", {"databaseUrl": DB_URL, "glitchtip": {
        "resources": {"postgres": {"memoryMb": 512}}}}, ("databaseUrl",),
     "error-tracking:glitchtip.resources.postgres: is not used"),
    ("valkey-image-with-external-valkey",
     {"valkeyUrl": VALKEY_URL, "glitchtip": {"valkeyImage": "valkey/valkey:9.0.3"}},
     ("valkeyUrl",), "error-tracking:glitchtip.valkeyImage: is not used: valkeyUrl replaces the Valkey"),
    ("valkey-image-without-valkey", {"glitchtip": {"valkey": False, "valkeyImage": "valkey/valkey:9.0.3"}}, (),
     "error-tracking:glitchtip.valkeyImage: is not used: glitchtip.valkey is false"),
    ("sentry-backup-with-every-store-external", {"app": "sentry", "backup": {"retentionDays": 7},
                                                 "sentry": {"external": EXTERNAL_STORES}}, ("sentry",),
     "error-tracking:backup.retentionDays: is not used: Sentry's Postgres and ClickHouse both run outside"),
    ("alert-thresholds-without-a-target", {"alerts": {"diskFreePercent": 5}}, (),
     "error-tracking:alerts.diskFreePercent: is not used: no alert target is set"),
    ("check-timeout-while-the-check-is-off", {"postDeployCheck": {"timeoutSeconds": 60}}, (),
     "error-tracking:postDeployCheck.timeoutSeconds: is not used: the check is off"),
    ("another-apps-section", {"sentry": {"profile": "errors-only"}}, (),
     "error-tracking:sentry: is not used: this stack's app is glitchtip, so nothing reads it"),
    ("another-platforms-section", {"kubernetes": {"namespace": "errors"}}, (),
     "error-tracking:kubernetes: is not used: this stack's platform is docker, so nothing reads it"),
    # A misspelt key: the closest allowed keys, and every allowed key of that section.
    ("offsite-misspelt", {"backup": {"ofsite": OFFSITE}}, (),
     "error-tracking:backup.ofsite: unknown setting; did you mean offsite? allowed here: drill, enabled, hour, "
     "minute, offsite, retentionDays"),
    ("gateway-misspelt", {**K8S, "kubernetes": {"gatway": {"name": "public", "namespace": "gateways"}}}, (),
     "error-tracking:kubernetes.gatway: unknown setting; did you mean gateway? allowed here:"),
    ("telegram-misspelt", {"alerts": {"telegam": {}}}, (),
     "error-tracking:alerts.telegam: unknown setting; did you mean telegram?"),
    ("mail-misspelt", {"app": "sentry", "sentry": {"mial": {}}}, (),
     "error-tracking:sentry.mial: unknown setting; did you mean mail?"),
    ("service-misspelt", {"app": "sentry", "sentry": {"resources": {"snuba-apii": {"memoryMb": 256}}}}, ("sentry",),
     "error-tracking:sentry.resources.snuba-apii: is not a Sentry service; did you mean snuba-api? services: smtp,"),
    # GlitchTip's Postgres must hold every connection it is sized for (where it runs).
    ("postgres-too-small-for-its-connections", {"glitchtip": {"resources": {"postgres": {"memoryMb": 80}}}}, (),
     "error-tracking:glitchtip.resources.postgres.memoryMb: must be at least"),
]


@pytest.mark.parametrize("overrides, secret_keys, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_refused_by_its_full_key_before_any_resource(overrides, secret_keys, expected):
    found = refused(overrides, secret_keys)
    assert any(problem.startswith(expected) for problem in found), found


def test_a_misspelt_key_lists_every_allowed_key_even_those_not_set():
    [problem] = refused({**K8S, "kubernetes": {"gatway": {}}})
    allowed = problem.split("allowed here: ", 1)[1].split(", ")
    assert {"gateway", "ingress", "namespace", "egress", "autoscaling", "volumeSizes", "kubeconfig"} <= set(allowed)
    [problem] = refused({"alerts": {"hookweb": {}}})
    assert problem.endswith("allowed here: backupMaxAgeHours, diskFreePercent, email, failAfter, failWindow, "
                            "heartbeatMaxAgeSeconds, intervalSeconds, telegram, webhook")
    assert "did you mean" not in problem  # nothing close: no guess, still every key


def test_an_external_database_is_not_held_to_the_postgres_this_stack_would_run():
    many = {"glitchtip": {"replicas": {"worker": 4}, "maxReplicas": {"worker": 8}, "databasePoolSize": 20}}
    assert any("glitchtip.resources.postgres.memoryMb: must be at least" in p for p in refused(many))
    accepted({**many, "databaseUrl": DB_URL}, ("databaseUrl",))


def test_keys_of_earlier_releases_are_never_offered_as_allowed():
    [problem] = refused({"glitchtip": {"bakup": {}}})
    assert "did you mean" not in problem and "backup" not in problem.split("allowed here: ")[1].split(", ")


@pytest.mark.parametrize("overrides, secret_keys", [
    ({"databaseUrl": DB_URL, "backup": {"enabled": False}}, ("databaseUrl",)),
    ({"app": "sentry", "backup": {"hour": 4}, "sentry": {"external": {"postgres": EXTERNAL_STORES["postgres"]}}},
     ("sentry",)),
    ({**SENTRY_K8S, "url": "https://errors.example.com"}, ()),
    ({**K8S, "url": "http://errors.example.com"}, ()),
    ({"url": "http://127.0.0.1:8000/"}, ()),
    ({"glitchtip": {"valkey": False}, "sentry": {}, "kubernetes": {}}, ()),
    ({"alerts": {"webhook": {"url": "https://hooks.example.com/x"}, "diskFreePercent": 5}}, ("alerts",)),
    ({"postDeployCheck": {"enabled": True, "timeoutSeconds": 60}}, ()),
], ids=["backups-off-with-external-database",
        "sentry-clickhouse-still-backed-up", "sentry-kubernetes-with-pod-network", "kubernetes-plain-http",
        "docker-on-loopback", "empty-sections-of-others", "thresholds-with-a-target", "check-timeout-when-on"])
def test_the_same_settings_used_as_meant_are_accepted(overrides, secret_keys):
    accepted(overrides, secret_keys)
