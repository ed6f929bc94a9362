"""Each deployed Sentry service as a `components.spec.Service`, its volumes and its Kafka topics.

A catalog entry's shape decides how it is built: `SENTRY` is upstream's `x-sentry-defaults`,
`SNUBA` its `x-snuba-defaults`, `OWN` a service with its own image (images.py); environment.py
says what each one's environment is and health_checks.py how each is checked. Secrets reach
containers only through `secret_env`, from the `credentials.Secrets` the app component fills
with generated (or operator supplied) values.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Mapping, Optional
from urllib.parse import urlsplit

from components import spec
from components.apps.sentry import catalog, sizing, storage, topics
from components.apps.sentry.catalog import CATALOG, FILES, SENTRY, SNUBA
from components.apps.sentry.credentials import Context
from components.apps.sentry.environment import environment
from components.apps.sentry.files import kafka as kafka_files
from components.apps.sentry.health_checks import HEALTH
from components.apps.sentry.images import IMAGES, Image
from components.apps.sentry.settings import SentrySettings

# Who reaches whom (network peers, not start order), before externals and profile are applied.
SENTRY_REACHES = ("pgbouncer", "redis", "memcached", "kafka", "snuba-api", "symbolicator", "vroom", "seaweedfs", "smtp")
SNUBA_REACHES = ("clickhouse", "kafka", "redis")
OWN_REACHES = {"pgbouncer": ("postgres",), "nginx": ("web", "relay"), "relay": ("kafka", "redis", "web"),
               "taskbroker": ("kafka",), "vroom": ("kafka", "seaweedfs", "snuba-api"),
               "uptime-checker": ("kafka", "redis"), "launchpad-taskworker": ("kafka", "taskbroker", "web"),
               # Debug files uploaded to Sentry: Symbolicator fetches them from web's internal API.
               "symbolicator": ("web",)}
NGINX_CACHE = "sentry-nginx-cache"
NGINX_CONF, NGINX_DOCKER_CONF = "nginx-conf", "nginx-conf-docker"
# Services that reach the public internet: symbol servers, and the URLs uptime monitors check.
INTERNET = {"symbolicator": (80, 443), "uptime-checker": (80, 443)}
# Outbound HTTPS for integrations and webhooks (Slack, Jira, GitHub, PagerDuty, SSO providers):
# web answers their callbacks and sets them up, the taskworker sends the notifications. Its own
# destination, so an operator can narrow it (kubernetes.egress.integrations) or close it ([]).
INTEGRATIONS = "integrations"
INTEGRATION_CLIENTS = ("web", "taskworker")


def services(settings: SentrySettings, context: Context) -> tuple[spec.Service, ...]:
    """Every deployed service of the profile, in catalog order."""
    names = settings.deployed_services
    counts = topics.partitions(names, settings.replicas)
    return tuple(service(name, settings, context, counts) for name in names)


def image_of(name: str, settings: SentrySettings) -> Image:
    """The image a service runs; Sentry's with sentry-nodestore-s3 (the operator's, or the one the
    platform builds) replaces the published Sentry image everywhere."""
    entry = CATALOG[name]
    key = {SENTRY: "sentry", SNUBA: "snuba"}.get(entry.shape, entry.image)
    found = IMAGES[key]
    if key == "sentry" and storage.sentry_image(settings):
        return Image(storage.sentry_image(settings), found.uid, found.gid)
    return Image(found.reference.format(version=settings.version), found.uid, found.gid, found.root,
                 found.capabilities)


def dependencies(name: str, settings: SentrySettings) -> tuple[tuple[str, str], ...]:
    """Upstream's depends_on with conditions, minus the stores that run outside (as upstream's
    external-kafka patch drops `kafka`)."""
    entry = CATALOG[name]
    listed = {SENTRY: catalog.SENTRY_DEPENDS, SNUBA: catalog.SNUBA_DEPENDS}.get(entry.shape, entry.depends)
    present = set(settings.deployed_services)
    return tuple((dep, condition) for dep, condition in listed if dep in present)


def service(name: str, settings: SentrySettings, context: Context, partitions: Mapping[str, int]) -> spec.Service:
    entry = CATALOG[name]
    image = image_of(name, settings)
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
        depends_on=tuple(dep for dep, _ in dependencies(name, settings)),
        connects_to=_connects_to(name, entry, settings),
        egress=_egress(name, entry, settings),
        run_as_user=image.uid,
        run_as_group=image.gid,
        root=image.root,
        capabilities=image.capabilities,
        ulimits={"nofile": entry.nofile} if entry.nofile else {},
        stop_grace_seconds=entry.stop_grace,
        shared_memory_mb=entry.shm_mb,
        ports=tuple(spec.Port(number, port_name) for number, port_name in entry.ports),
        health=HEALTH[entry.health] if entry.health else None,
        stateful=entry.stateful,
        replicas=settings.replicas.get(name, 1),
        max_replicas=_max_replicas(name, entry, partitions),
        # Kubernetes runs it as a CronJob (cleanup_schedule), as the community chart does.
        platforms=("docker",) if name == catalog.CLEANUP_JOB else (),
        beside=entry.beside,
    )


def cleanup_schedule(service: spec.Service, settings: SentrySettings) -> spec.ScheduledTask:
    """`sentry cleanup` as a scheduled task at upstream's 00:00 UTC, for platforms with a scheduler
    (Kubernetes: a CronJob whose runs the watchdog follows); the same image, environment, files and
    data as the Docker loop, without the loop and its status volume, reserving one Sentry process
    while it runs."""
    fields = {f.name: getattr(service, f.name) for f in dataclasses.fields(spec.Workload)}
    fields.update(
        command=("sentry", "cleanup", "--days", str(settings.event_retention_days)),
        mounts=tuple(m for m in service.mounts if m.volume != catalog.CLEANUP_STATUS_VOLUME),
        resources=sizing.one_process(service.resources),
        platforms=("kubernetes",),
    )
    return spec.ScheduledTask(**fields, schedule=spec.Schedule(hour=0, minute=0))


def _command(entry: catalog.Entry, settings: SentrySettings) -> Optional[tuple[str, ...]]:
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


def _connects_to(name: str, entry: catalog.Entry, settings: SentrySettings) -> tuple[str, ...]:
    reaches = {SENTRY: SENTRY_REACHES, SNUBA: SNUBA_REACHES}.get(entry.shape, OWN_REACHES.get(name, ()))
    skip = set()
    if entry.shape == SENTRY:
        skip |= {"smtp"} if settings.mail else set()
        skip |= set() if settings.uses_object_store else {"seaweedfs"}
        reaches = (*reaches, "taskbroker") if name == "taskworker" else reaches
    present = set(settings.deployed_services)
    return tuple(peer for peer in reaches if peer in present and peer not in skip and peer != name)


def _egress(name: str, entry: catalog.Entry, settings: SentrySettings) -> tuple[spec.Egress, ...]:
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
        found.append(spec.Egress("internet", INTERNET[name], public=True))
    if name in INTEGRATION_CLIENTS:
        found.append(spec.Egress(INTEGRATIONS, (443,), public=True))
    return tuple(found)


def _url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def kafka_topics(settings: SentrySettings) -> tuple[topics.Topic, ...]:
    """The topics the deployed services use, partitioned for their replicas, with upstream's
    retention unless the operator bounds it."""
    return topics.topics(settings.deployed_services, settings.replicas, settings.kafka.retention_hours,
                         settings.kafka.retention_bytes)


def kafka_kept(settings: SentrySettings) -> topics.Kept:
    """What the bundled Kafka keeps on disk (its segments roll every broker retention period)."""
    roll_hours = settings.kafka.retention_hours or kafka_files.UPSTREAM_RETENTION_HOURS
    return topics.kept(kafka_topics(settings), settings.kafka.ingest_kb_per_second, roll_hours)


def volumes(settings: SentrySettings, built: tuple[spec.Service, ...]) -> tuple[spec.Volume, ...]:
    """The volumes the given services mount, `shared` when more than one of them does. Kafka's
    holds what its topics keep (`kafka_kept`): that size is its minimum."""
    users: dict[str, int] = {}
    for one in built:
        for mount in one.mounts:
            users[mount.volume] = users.get(mount.volume, 0) + 1
    # With the file store in S3, sentry-data holds only caches (debug and release files being read):
    # each pod's own, like the other caches of one service.
    caches = catalog.LOCAL_VOLUMES | ({"sentry-data"} if settings.filestore == "s3" else set())
    found = []
    for name, count in users.items():
        size, data = catalog.VOLUMES[name]
        volume = spec.Volume(name, size, shared=count > 1, data=data and name not in caches, local=name in caches,
                             owner=_owner(name, built))
        if name == "sentry-kafka":
            kept = kafka_kept(settings)
            volume = dataclasses.replace(volume, size_gb=kept.volume_gb, minimum_reason=(
                f"what Kafka keeps: {kept.reason}, plus {topics.METADATA_GB} GiB for offsets and metadata"))
        if name == catalog.CLEANUP_STATUS_VOLUME:
            volume = dataclasses.replace(volume, owner=IMAGES["sentry"].uid)  # the loop runs as sentry
        found.append(volume)
    return tuple(found)


def _owner(volume: str, built: tuple[spec.Service, ...]) -> Optional[int]:
    """nginx's cache holds its temporary files: a volume made while nginx ran as root belongs to
    root, and the unprivileged nginx must write it."""
    if volume != NGINX_CACHE:
        return None
    return next(s.run_as_user for s in built if any(m.volume == volume for m in s.mounts))


def per_platform(built: tuple[spec.Service, ...]) -> tuple[spec.Service, ...]:
    """The services as each platform runs them: nginx once per platform, with the nginx.conf that
    finds web and Relay there (files/nginx.py). Docker's asks the engine's DNS again, so a replaced
    container is followed; Kubernetes' reaches their Services, whose addresses outlive their pods."""
    result = []
    for one in built:
        if one.name != "nginx":
            result.append(one)
            continue
        result.append(dataclasses.replace(one, platforms=("kubernetes",)))
        result.append(dataclasses.replace(one, platforms=("docker",), files=tuple(
            spec.FileMount(NGINX_DOCKER_CONF, f.path) if f.file == NGINX_CONF else f for f in one.files)))
    return tuple(result)
