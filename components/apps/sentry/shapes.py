"""The shapes that turn a catalog entry into a `components.spec.Service`.

`SENTRY` is upstream's `x-sentry-defaults`, `SNUBA` its `x-snuba-defaults`, `OWN` a service with
its own image; environment.py says what each one's environment is. Secrets reach containers only
through `secret_env`, from a `Secrets` the app component fills with generated (or operator
supplied) values.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional
from urllib.parse import urlsplit

import pulumi

from components import spec
from components.apps.sentry import catalog, topics
from components.apps.sentry.catalog import CATALOG, FILES, SENTRY, SNUBA
from components.apps.sentry.environment import environment

if TYPE_CHECKING:
    from components.apps.sentry.settings import SentrySettings


@dataclass(frozen=True)
class Secrets:
    """Values the app component generates (or takes from the operator's external settings).

    The Relay fields are relay_keys.relay_credentials(seed) taken apart inside Output.apply; the
    id and public key are not secret, but as Outputs they travel in secret_env too."""

    system_secret_key: pulumi.Input[str]
    postgres_password: pulumi.Input[str]
    clickhouse_password: pulumi.Input[str]
    launchpad_rpc_shared_secret: pulumi.Input[str]
    redis_password: Optional[pulumi.Input[str]] = None  # None only with an external Redis without one
    relay_id: Optional[pulumi.Input[str]] = None
    relay_public_key: Optional[pulumi.Input[str]] = None
    relay_secret_key: Optional[pulumi.Input[str]] = None
    object_store_access_key: Optional[pulumi.Input[str]] = None
    object_store_secret_key: Optional[pulumi.Input[str]] = None
    kafka_sasl_password: Optional[pulumi.Input[str]] = None
    mail_password: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class Context:
    secrets: Secrets
    mail_domain: Optional[str] = None  # SENTRY_MAIL_HOST: the FQDN mail is sent as (the public URL's host)


# --- health checks: upstream's, with .env's timings (30s/1m30s/10, start 10s; file: 60s/10s/3, 600s)
def _check(probe, interval=30, timeout=90, retries=10, start=10) -> spec.HealthCheck:
    return spec.HealthCheck(probe, interval, timeout, retries, start)


def _sh(command: str) -> spec.CommandProbe:
    return spec.CommandProbe(("sh", "-c", command))


_FILE_CHECK = ("import os, sys\ntry:\n    os.remove('/tmp/health.txt')\nexcept OSError:\n"
               "    sys.exit('no heartbeat written to /tmp/health.txt since the last check')")
HEALTH: Mapping[str, spec.HealthCheck] = {
    # Consumers rewrite the file while they make progress; the check removes it each time.
    "file": _check(spec.CommandProbe(("python3", "-c", _FILE_CHECK)), 60, 10, 3, 600),
    "web": _check(spec.HttpProbe("/_health/", 9000, command=(
        "python3", "-c", "import sys, urllib.request as r; "
        "sys.exit(b'ok' not in r.urlopen('http://127.0.0.1:9000/_health/', timeout=10).read())")), start=300),
    "memcached": _check(_sh("echo stats | nc 127.0.0.1 11211")),
    "redis": _check(_sh("valkey-cli ping | grep PONG")),
    "postgres": _check(_sh("pg_isready -U postgres")),
    "pgbouncer": _check(_sh('psql -U "$DB_USER" -p 5432 -h 127.0.0.1 -tA -c "select 1;" -d "$DB_NAME" >/dev/null')),
    "kafka": _check(_sh("nc -z localhost 9092"), 10, 10, 30),
    "clickhouse": spec.HealthCheck(spec.HttpProbe("/", 8123, command=(
        "sh", "-c", "HTTP_PROXY='' http_proxy='' wget -nv -t1 --spider 'http://localhost:8123/' || exit 1")),
        10, 10, 30, 0),
    # Upstream asks http://seaweedfs:<port>; a Kubernetes Service exposes only 8333, so ask locally.
    "seaweedfs": _check(_sh("http_proxy='' wget -q -O- http://127.0.0.1:9340/healthz "
                            "http://127.0.0.1:9333/cluster/healthz http://127.0.0.1:8333/healthz || exit 1"),
                        30, 20, 5, 60),
    "snuba-api": _check(spec.HttpProbe("/health", 1218, command=("python3", FILES["snuba-api-healthcheck-py"]))),
    "symbolicator": _check(spec.CommandProbe(
        ("/bin/symbolicator", "healthcheck", "-c", FILES["symbolicator-config-yml"]))),
    "nginx": _check(spec.CommandProbe(("/usr/bin/curl", "http://localhost"))),
    "vroom": _check(spec.HttpProbe("/health", 8085, command=(
        "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8085 && "
        "printf 'GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && grep -q OK <&3"))),
}

# Who reaches whom (network peers, not start order), before externals and profile are applied.
SENTRY_REACHES = ("pgbouncer", "redis", "memcached", "kafka", "snuba-api", "symbolicator", "vroom", "seaweedfs", "smtp")
SNUBA_REACHES = ("clickhouse", "kafka", "redis")
OWN_REACHES = {"pgbouncer": ("postgres",), "nginx": ("web", "relay"), "relay": ("kafka", "redis", "web"),
               "taskbroker": ("kafka",), "vroom": ("kafka", "seaweedfs", "snuba-api"),
               "uptime-checker": ("kafka", "redis"), "launchpad-taskworker": ("kafka", "taskbroker", "web"),
               # Debug files uploaded to Sentry: Symbolicator fetches them from web's internal API.
               "symbolicator": ("web",)}
# Services that reach the public internet: symbol servers, and the URLs uptime monitors check.
INTERNET = {"symbolicator": (80, 443), "uptime-checker": (80, 443)}


def services(settings: "SentrySettings", context: Context) -> tuple[spec.Service, ...]:
    """Every deployed service of the profile, in catalog order."""
    names = catalog.deployed(settings)
    counts = topics.partitions(names, settings.replicas)
    return tuple(service(name, settings, context, counts) for name in names)


def service(name: str, settings: "SentrySettings", context: Context, partitions: Mapping[str, int]) -> spec.Service:
    entry = CATALOG[name]
    image = catalog.image(name, settings)
    env, secret_env = environment(name, settings, context)
    mounts = [spec.Mount(volume, path) for volume, path in entry.mounts]
    files = [*entry.files]
    scratch = ()
    if entry.shape == SENTRY:
        mounts.append(spec.Mount("sentry-data", "/data"))
        files += ["sentry-conf-py", "sentry-config-yml"]
    if entry.shape in (SENTRY, SNUBA) or name == "launchpad-taskworker":
        # Health files, uploads being processed, debug files being read.
        scratch = (spec.Scratch("/tmp", size_mb=1024 if entry.shape == SENTRY else 256, memory=False),)
    return spec.Service(
        name=name,
        image=image.reference,
        resources=settings.resources_for(name),
        command=_command(entry, settings),
        entrypoint=(entry.entrypoint,) if isinstance(entry.entrypoint, str) else entry.entrypoint,
        env=env,
        secret_env=secret_env,
        files=tuple(spec.FileMount(f, FILES[f]) for f in files),
        mounts=tuple(mounts),
        scratch=scratch,
        depends_on=tuple(dep for dep, _ in catalog.dependencies(name, settings)),
        connects_to=_connects_to(name, entry, settings),
        egress=_egress(name, entry, settings),
        run_as_user=image.uid,
        run_as_group=image.gid,
        root=image.root,
        capabilities=image.capabilities,
        ulimits={"nofile": entry.nofile} if entry.nofile else {},
        stop_grace_seconds=entry.stop_grace,
        ports=tuple(spec.Port(number, port_name) for number, port_name in entry.ports),
        health=HEALTH[entry.health] if entry.health else None,
        stateful=entry.stateful,
        replicas=settings.replicas.get(name, 1),
        max_replicas=_max_replicas(name, entry, partitions),
    )


def _command(entry: catalog.Entry, settings: "SentrySettings") -> Optional[tuple[str, ...]]:
    values = {"poll": settings.kafka.max_poll_interval_ms, "concurrency": settings.taskworker_concurrency,
              "days": settings.event_retention_days}
    if entry.command is None:
        return None
    if isinstance(entry.command, tuple):
        return tuple(part.format(**values) for part in entry.command)
    return tuple(shlex.split(entry.command.format(**values)))


def _max_replicas(name: str, entry: catalog.Entry, partitions: Mapping[str, int]) -> Optional[int]:
    if entry.scaling == catalog.SINGLE or entry.stateful:
        return 1
    if entry.scaling == catalog.ANY:
        return None
    return min(partitions[t] for t in topics.SERVICE_TOPICS[name].consumes)


def _connects_to(name: str, entry: catalog.Entry, settings: "SentrySettings") -> tuple[str, ...]:
    reaches = {SENTRY: SENTRY_REACHES, SNUBA: SNUBA_REACHES}.get(entry.shape, OWN_REACHES.get(name, ()))
    skip = set()
    if entry.shape == SENTRY:
        skip |= {"smtp"} if settings.mail else set()
        skip |= set() if settings.uses_object_store else {"seaweedfs"}
        reaches = (*reaches, "taskbroker") if name == "taskworker" else reaches
    present = set(catalog.deployed(settings))
    return tuple(peer for peer in reaches if peer in present and peer not in skip and peer != name)


def _egress(name: str, entry: catalog.Entry, settings: "SentrySettings") -> tuple[spec.Egress, ...]:
    """Destinations outside the stack: the external stores this service would reach, mail, internet."""
    external = settings.external
    reaches = {SENTRY: SENTRY_REACHES, SNUBA: SNUBA_REACHES}.get(entry.shape, OWN_REACHES.get(name, ()))
    found = []
    if external.postgres and name == "pgbouncer":
        found.append(spec.Egress("postgres", (external.postgres.port,)))
    if external.redis and "redis" in reaches:
        found.append(spec.Egress("redis", (external.redis.port,)))
    if external.kafka and "kafka" in reaches:
        ports = sorted({int(server.rpartition(":")[2]) for server in external.kafka.bootstrap_servers})
        found.append(spec.Egress("kafka", tuple(ports)))
    if external.clickhouse and entry.shape == SNUBA:
        found.append(spec.Egress("clickhouse", (external.clickhouse.tcp_port, external.clickhouse.http_port)))
    if external.s3 and ((entry.shape == SENTRY and settings.uses_object_store) or name == "vroom"):
        found.append(spec.Egress("s3", (_url_port(external.s3.endpoint_url),)))
    if settings.mail and entry.shape == SENTRY:
        found.append(spec.Egress("mail", (settings.mail.port,)))
    if name == "smtp" and not settings.mail:
        found.append(spec.Egress("mail", (25,)))  # exim delivers straight to recipients' MX
    if name in INTERNET:
        found.append(spec.Egress("internet", INTERNET[name]))
    return tuple(found)


def _url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def kafka_topics(settings: "SentrySettings") -> tuple[topics.Topic, ...]:
    """The topics the deployed services use, partitioned for their replicas, retention bounded."""
    return topics.topics(catalog.deployed(settings), settings.replicas, settings.kafka.retention_hours,
                         settings.kafka.retention_bytes)


def volumes(settings: "SentrySettings", built: tuple[spec.Service, ...]) -> tuple[spec.Volume, ...]:
    """The volumes the given services mount, `shared` when more than one of them does. Kafka's
    holds at most its topics' retention bound, plus room for offsets and cluster metadata."""
    users: dict[str, int] = {}
    for one in built:
        for mount in one.mounts:
            users[mount.volume] = users.get(mount.volume, 0) + 1
    sizes = {name: size for name, (size, _) in catalog.VOLUMES.items()}
    bound = topics.disk_bound_bytes(kafka_topics(settings))
    if bound is not None:
        sizes["sentry-kafka"] = math.ceil(bound / (1 << 30)) + 2
    return tuple(spec.Volume(name, sizes[name], shared=count > 1, data=catalog.VOLUMES[name][1],
                             local=name in catalog.LOCAL_VOLUMES)
                 for name, count in users.items())
