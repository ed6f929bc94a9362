"""The platform-neutral description of an app: what runs, never where.

An app (GlitchTip, Sentry) describes its services, one-shot tasks, scheduled tasks, volumes and
configuration files once, with these types; a platform (Docker, Kubernetes) realizes the
description. Neither knows the other, so a new app or a new platform is added without touching
the rest.

Three relations between workloads are kept apart on purpose:
- `depends_on`: services that must be healthy before this workload starts (order);
- `after`: tasks (or `StopFirst` steps) that must have completed successfully before it starts (order);
- `connects_to`: services it reaches over the network (reachability: network policies).
A dependency is not a network allowance, and a peer reached later is not a start dependency.
"""

from __future__ import annotations

import dataclasses
import graphlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import pulumi

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# What a platform can do beyond realizing a description (components.plugins.Plugin.capabilities).
# An app may describe itself differently where one is missing, without naming the platform.
# BUILDS_IMAGES: builds `AppSpec.builds` on the engine that runs the workloads.
# SHARES_VOLUMES: any number of workloads mount one volume at once, at no cost (one host).
BUILDS_IMAGES = "builds-images"
SHARES_VOLUMES = "shares-volumes"


@dataclass(frozen=True)
class HttpProbe:
    """Healthy when `GET path` on `port` answers 2xx."""

    path: str
    port: int
    # The same check run inside the container, for platforms that cannot probe over HTTP
    # (Docker health checks); the app knows what its image ships to do that.
    command: Optional[tuple[str, ...]] = None


@dataclass(frozen=True)
class CommandProbe:
    """Healthy when `command`, run inside the container, exits 0."""

    command: tuple[str, ...]


@dataclass(frozen=True)
class GrpcProbe:
    """Healthy when the gRPC Health Checking Protocol (grpc.health.v1.Health/Check) answers SERVING
    for `service` on `port` ("" asks for the server as a whole)."""

    port: int
    service: str = ""
    # The closest check a platform without gRPC probes can run inside the container.
    command: Optional[tuple[str, ...]] = None


Probe = Union[HttpProbe, CommandProbe, GrpcProbe]


@dataclass(frozen=True)
class HealthCheck:
    """`probe` says the workload is ready for its clients. `liveness`, when given, only that its
    process is alive and not stuck: platforms that restart on failure use it for that, so a
    workload waiting on a peer (Relay on Sentry) is kept out of traffic but not restarted; those
    that only report health (Docker) check it too, since they neither route nor restart by it."""

    probe: Probe
    interval_seconds: int = 10
    timeout_seconds: int = 5
    retries: int = 6
    start_period_seconds: int = 30
    liveness: Optional[Probe] = None

    @property
    def alive(self) -> Probe:
        return self.liveness or self.probe


@dataclass(frozen=True)
class Resources:
    """What a container may use (`memory_mb`, `cpu`: its limits) and what it typically uses
    (`memory_request_mb`, `cpu_request`): what a scheduler reserves for it (Kubernetes requests,
    Docker's memory reservation). None: the limit itself, so a node is never promised more than
    it has. `swap_mb`: swap it may use beyond its memory limit where the platform sets it per
    container (Docker; Kubernetes leaves swap to the node's kubelet)."""

    memory_mb: int
    cpu: float
    memory_request_mb: Optional[int] = None
    cpu_request: Optional[float] = None
    swap_mb: int = 0

    def __post_init__(self):
        if self.memory_request_mb is not None and not 0 < self.memory_request_mb <= self.memory_mb:
            raise ValueError(f"memory request {self.memory_request_mb} MB must be within the limit {self.memory_mb} MB")
        if self.cpu_request is not None and not 0 < self.cpu_request <= self.cpu:
            raise ValueError(f"cpu request {self.cpu_request} must be within the limit {self.cpu}")
        if self.swap_mb < 0:
            raise ValueError(f"swap {self.swap_mb} MB must not be negative")

    @property
    def reserved_memory_mb(self) -> int:
        return self.memory_mb if self.memory_request_mb is None else self.memory_request_mb

    @property
    def reserved_cpu(self) -> float:
        return self.cpu if self.cpu_request is None else self.cpu_request


@dataclass(frozen=True)
class Volume:
    """Persistent storage. `shared` volumes are mounted by more than one workload.

    `data` volumes hold what cannot be rebuilt (databases, uploads, backups): platforms keep them
    when the resource is deleted or replaced. A cache (`data=False`) may be lost.
    """

    name: str
    size_gb: int
    shared: bool = False
    data: bool = True
    # Written and read only by the processes of one service, on one host: platforms that can give
    # each pod its own disk (Kubernetes: an emptyDir) need no claim for it.
    local: bool = False
    # The uid/gid that must own the volume's root (a fresh Docker volume is root's, and a non-root
    # process cannot write it); None: whatever the image's own directory at the mount point has.
    owner: Optional[int] = None
    # Set when `size_gb` is the least the app needs (what it must hold, and why): platforms refuse
    # an operator's smaller size with this reason.
    minimum_reason: Optional[str] = None
    # A shared volume that one stateful service keeps mounted: the other workloads that mount it
    # run where that service runs (Kubernetes: one ReadWriteOnce claim, pods placed on its node).
    holder: Optional[str] = None


@dataclass(frozen=True)
class ImageBuild:
    """An image built from a Dockerfile kept in this repository, by a platform that builds images
    (BUILDS_IMAGES); workloads run it by naming `reference`. `context` is a directory relative to
    the project root (where Pulumi.yaml is) holding only what the build reads; `platform` None
    builds for the engine's own architecture."""

    reference: str
    context: str
    dockerfile: str = "Dockerfile"
    args: Mapping[str, str] = field(default_factory=dict)
    platform: Optional[str] = None


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file the app renders; `secret` files go to secret stores only."""

    name: str
    content: pulumi.Input[str]
    secret: bool = False


@dataclass(frozen=True)
class FileMount:
    """Mounts the app's ConfigFile `file` read-only at `path` (a file path, not a directory)."""

    file: str
    path: str


@dataclass(frozen=True)
class Scratch:
    """Writable space that need not survive a restart (tmpfs on Docker, emptyDir on Kubernetes).

    It lets a workload run with a read-only root filesystem; `memory` scratch counts against the
    container's memory limit on every platform.
    """

    path: str
    size_mb: int = 64
    memory: bool = True


@dataclass(frozen=True)
class Port:
    number: int
    name: str = "http"


@dataclass(frozen=True)
class Egress:
    """A destination outside the app that a workload must reach (mail, an external database,
    object storage). Network policies have no host names: platforms allow the ports, to the
    addresses the operator configures for `name`. A `public` destination (the internet: webhooks,
    integrations, symbol servers) is kept off the cluster's and the site's private addresses."""

    name: str
    ports: tuple[int, ...]
    public: bool = False


@dataclass(frozen=True)
class Schedule:
    """When a scheduled task runs, in UTC: daily at hour:minute, monthly on `day_of_month`, or
    every `every_minutes` minutes."""

    hour: int = 3
    minute: int = 0
    day_of_month: Optional[int] = None
    every_minutes: Optional[int] = None

    @property
    def cron(self) -> str:
        if self.every_minutes:
            return f"*/{self.every_minutes} * * * *"
        return f"{self.minute} {self.hour} {self.day_of_month or '*'} * *"


@dataclass(frozen=True)
class Workload:
    """What services and tasks have in common: a container and how it is started."""

    name: str
    image: str
    resources: Resources
    # Replaces the image's CMD; `entrypoint` replaces its ENTRYPOINT (both as Docker means them).
    command: Optional[tuple[str, ...]] = None
    entrypoint: Optional[tuple[str, ...]] = None
    env: Mapping[str, str] = field(default_factory=dict)
    # Values that must stay secret: platforms put them in secret stores, never in plain config.
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    files: tuple[FileMount, ...] = ()
    mounts: tuple[Mount, ...] = ()
    scratch: tuple[Scratch, ...] = ()
    depends_on: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    connects_to: tuple[str, ...] = ()
    egress: tuple[Egress, ...] = ()
    # The uid/gid the image runs as (None: the image's own default).
    run_as_user: Optional[int] = None
    run_as_group: Optional[int] = None
    # The image needs to start as root (it drops privileges itself); `capabilities` it then needs.
    root: bool = False
    capabilities: tuple[str, ...] = ()
    # The image writes only to its mounts and scratch space.
    read_only_root: bool = False
    # Size of /dev/shm (POSIX shared memory, e.g. Postgres' parallel queries); None: the
    # platform's default. Memory-backed on every platform, so it counts against the memory limit.
    shared_memory_mb: Optional[int] = None
    # Open-file limits and the like (Docker only: Kubernetes pods cannot set them).
    ulimits: Mapping[str, int] = field(default_factory=dict)
    # How long the process may take to stop after SIGTERM.
    stop_grace_seconds: Optional[int] = None
    # The platforms this workload exists on (empty: all). A watchdog, say, is a long-running
    # process reading shared files on Docker and a CronJob asking the API on Kubernetes.
    platforms: tuple[str, ...] = ()
    # The app's own workloads whose state this one reads through the platform's API (is the
    # worker ready, did the last backup succeed), and a small object it keeps between runs.
    # Platforms with an API grant exactly that; the others ignore both.
    watches: tuple[str, ...] = ()
    state_object: Optional[str] = None
    # A helper of service `beside` that shares its local volumes (a cache cleaner): platforms that
    # group containers (Kubernetes pods) run it in every pod of that service, the others beside it.
    beside: Optional[str] = None


@dataclass(frozen=True)
class Service(Workload):
    """A long-running process.

    `max_replicas` bounds `replicas` and any autoscaler: 1 for singletons (a store, a scheduler),
    a Kafka topic's partition count for its consumers, None when any number may run side by side.
    """

    ports: tuple[Port, ...] = ()
    health: Optional[HealthCheck] = None
    # Holds data of its own (a database): a StatefulSet on Kubernetes, never scaled out.
    stateful: bool = False
    replicas: int = 1
    max_replicas: Optional[int] = 1

    @property
    def scalable(self) -> bool:
        return self.max_replicas is None or self.max_replicas > 1


@dataclass(frozen=True)
class Task(Workload):
    """A one-shot process (migrations, bootstrap) that must run to completion.

    It runs again whenever anything it is declared with changes (image, command, environment).
    With `reports`, the task prints one line `REPORT_PREFIX<json>` on stdout and the platform
    hands that output back to the app (see `report_from_output`).
    """

    reports: bool = False


@dataclass(frozen=True)
class ScheduledTask(Workload):
    """A process run on a schedule (backups, restore drills), with a check that it still succeeds.

    `health` proves the job keeps succeeding (for example: the newest backup is recent);
    platforms that run the schedule in a long-lived container use it as that container's check.
    """

    schedule: Schedule = field(default_factory=Schedule)
    health: Optional[HealthCheck] = None


@dataclass(frozen=True)
class StopFirst:
    """Before the workloads that run `after` it: stop the running instances of `services` whose
    image is not the one this description gives them (on an upgrade, the previous version's
    processes), so that no old code runs while data is backed up and migrated. Each is given its
    own `stop_grace_seconds` to finish what it holds, and starts again only as the platform starts
    this description (after whatever it waits for). Nothing runs yet on a first install, and an
    `up` that changes none of their images stops nothing. Platforms declare these first."""

    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Entrypoint:
    """The service and port that the public URL reaches (host port on Docker, Ingress on Kubernetes),
    and the path that answers 2xx when the app is up (post-deploy checks, watchdogs)."""

    service: str
    port: int
    health_path: str


@dataclass(frozen=True)
class AppSpec:
    name: str
    version: str
    services: tuple[Service, ...]
    tasks: tuple[Task, ...]
    volumes: tuple[Volume, ...]
    entrypoint: Entrypoint
    scheduled: tuple[ScheduledTask, ...] = ()
    files: tuple[ConfigFile, ...] = ()
    stops: tuple[StopFirst, ...] = ()
    # Images the platform builds (BUILDS_IMAGES) instead of pulling, by the reference workloads name.
    builds: tuple[ImageBuild, ...] = ()

    def build_of(self, image: str) -> Optional[ImageBuild]:
        return next((b for b in self.builds if b.reference == image), None)

    def helpers_of(self, service: str) -> tuple[Service, ...]:
        """The services that run beside `service` (Workload.beside), in description order."""
        return tuple(s for s in self.services if s.beside == service)
    # The app trusts callers by address and was left to trust the container's own network: the
    # setting that names the networks instead (a platform where a workload's own network holds
    # nothing but itself refuses the description, naming it).
    trusts_own_network: Optional[str] = None

    def service(self, name: str) -> Service:
        return _by_name(self.services, name)

    def task(self, name: str) -> Task:
        return _by_name(self.tasks, name)

    def volume(self, name: str) -> Volume:
        return _by_name(self.volumes, name)

    def file(self, name: str) -> ConfigFile:
        return _by_name(self.files, name)

    def workload(self, name: str) -> Workload:
        return _by_name(self.workloads(), name)

    def workloads(self) -> tuple[Workload, ...]:
        return (*self.services, *self.tasks, *self.scheduled)

    def clients_of(self, service: str) -> tuple[str, ...]:
        """Names of the workloads that connect to `service`: the only peers it accepts."""
        return tuple(w.name for w in self.workloads() if service in w.connects_to)

    def start_order(self) -> list[Workload]:
        """Every workload after everything it waits for (`depends_on`, `after`); one order for all
        platforms, stable for a given description."""
        stops = {s.name for s in self.stops}  # declared before everything, outside this order
        sorter = graphlib.TopologicalSorter({w.name: tuple(d for d in (*w.depends_on, *w.after) if d not in stops)
                                             for w in self.workloads()})
        try:
            names = list(sorter.static_order())
        except graphlib.CycleError as error:
            raise ValueError(f"{self.name}: circular start order: {' -> '.join(error.args[1])}") from None
        return [self.workload(n) for n in names]

    def for_platform(self, platform: str) -> "AppSpec":
        """The description as one platform realizes it: the workloads meant for other platforms
        left out, and the volumes and files only they used."""
        spec = self._only(platform)
        spec.validate()
        return spec

    def _only(self, platform: Optional[str]) -> "AppSpec":
        keep = lambda w: platform is None or not w.platforms or platform in w.platforms  # noqa: E731
        services = tuple(s for s in self.services if keep(s))
        tasks = tuple(t for t in self.tasks if keep(t))
        scheduled = tuple(t for t in self.scheduled if keep(t))
        kept = (*services, *tasks, *scheduled)
        volumes = tuple(v for v in self.volumes if any(m.volume == v.name for w in kept for m in w.mounts))
        files = tuple(f for f in self.files if any(m.file == f.name for w in kept for m in w.files))
        names = {s.name for s in services}
        stops = tuple(dataclasses.replace(s, services=tuple(n for n in s.services if n in names)) for s in self.stops)
        builds = tuple(b for b in self.builds if any(w.image == b.reference for w in kept))
        return dataclasses.replace(self, services=services, tasks=tasks, scheduled=scheduled, volumes=volumes,
                                   files=files, stops=stops, builds=builds)

    def validate(self) -> None:
        """Catch an inconsistent description early, with a message that names the culprit."""
        problems = list(_problems(self))
        if problems:
            raise ValueError(f"{self.name}: " + "; ".join(problems))
        # Every platform's own view must start in some order.
        for platform in sorted({p for w in self.workloads() for p in w.platforms}) or [None]:
            self._only(platform).start_order()


def _problems(spec: AppSpec):
    for kind, items in (("workload", spec.workloads()), ("volume", spec.volumes), ("file", spec.files)):
        names = [i.name for i in items]
        for name in sorted({n for n in names if names.count(n) > 1}):
            variants = [set(getattr(i, "platforms", ())) for i in items if i.name == name]
            # One name may have a variant per platform (a watchdog as a service or a CronJob).
            if any(not v for v in variants) or sum(len(v) for v in variants) != len(set().union(*variants)):
                yield f"{kind} name {name!r} is not unique"
        for name in names:
            if not NAME.match(name) or len(name) > 63:
                yield f"{kind} name {name!r} is not a lower-case DNS label"
    services = {s.name for s in spec.services}
    tasks = {t.name for t in spec.tasks}
    stops = {s.name for s in spec.stops}
    for stop in spec.stops:
        if not NAME.match(stop.name) or len(stop.name) > 63:
            yield f"stop step name {stop.name!r} is not a lower-case DNS label"
        if stop.name in services | tasks or [s.name for s in spec.stops].count(stop.name) > 1:
            yield f"stop step name {stop.name!r} is not unique"
        for name in stop.services:
            if name not in services:
                yield f"{stop.name}: stops unknown service {name!r}"
    volumes = {v.name for v in spec.volumes}
    files = {f.name for f in spec.files}
    for w in spec.workloads():
        where = f"{w.name}:"
        for dep in (*w.depends_on, *w.connects_to):
            if dep not in services:
                yield f"{where} names unknown service {dep!r}"
        for dep in w.after:
            if dep not in tasks | stops:
                yield f"{where} runs after unknown task {dep!r}"
        for m in w.mounts:
            if m.volume not in volumes:
                yield f"{where} mounts unknown volume {m.volume!r}"
        for f in w.files:
            if f.file not in files:
                yield f"{where} mounts unknown file {f.file!r}"
        paths = [m.path for m in w.mounts] + [f.path for f in w.files] + [s.path for s in w.scratch]
        for path in paths:
            if not posixpath.isabs(path) or posixpath.normpath(path) != path:
                yield f"{where} path {path!r} is not a normalized absolute path"
        for path in sorted({p for p in paths if paths.count(p) > 1}):
            yield f"{where} mounts two things at {path}"
        if isinstance(w, Service):
            if w.replicas < 1 or (w.max_replicas is not None and w.replicas > w.max_replicas):
                yield f"{where} replicas {w.replicas} outside 1..{w.max_replicas or 'any'}"
            if w.stateful and w.scalable:
                yield f"{where} a stateful service runs one replica (max_replicas=1)"
    for v in spec.volumes:
        held = next((s for s in spec.services if s.name == v.holder), None)
        if v.holder is not None and (held is None or not held.stateful or not v.shared or v.local
                                     or v.name not in {m.volume for m in held.mounts}):
            yield f"volume {v.name!r}: its holder {v.holder!r} must be a stateful service that mounts it (a shared volume)"
    references = [b.reference for b in spec.builds]
    for reference in sorted({r for r in references if references.count(r) > 1}):
        yield f"image {reference!r} is built twice"
    for w in spec.workloads():
        if w.beside is None:
            continue
        host = next((s for s in spec.services if s.name == w.beside), None)
        if not isinstance(w, Service) or host is None or host.beside is not None or w.ports or w.stateful:
            yield f"{w.name}: runs beside {w.beside!r}, which must be a service that runs beside none (and the " \
                  "helper a service without ports or data of its own)"
            continue
        for m in w.mounts:
            volume = next((v for v in spec.volumes if v.name == m.volume), None)
            if volume is not None and volume.local and m.volume not in {h.volume for h in host.mounts}:
                yield f"{w.name}: its local volume {m.volume!r} is not mounted by {w.beside!r}, which it runs beside"
    if spec.entrypoint.service not in services:
        yield f"entrypoint service {spec.entrypoint.service!r} is unknown"
    elif spec.entrypoint.port not in [p.number for p in spec.service(spec.entrypoint.service).ports]:
        yield f"entrypoint port {spec.entrypoint.port} is not a port of {spec.entrypoint.service!r}"


def _by_name(items, name):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)


REPORT_PREFIX = "ERROR_TRACKING_REPORT="


def report_from_output(output: str) -> str:
    """The JSON a reporting task printed, taken from everything it wrote (logs may surround it)."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        # Docker multiplexed logs may carry a few header bytes before the text.
        index = line.find(REPORT_PREFIX)
        if index >= 0:
            return line[index + len(REPORT_PREFIX):]
    raise ValueError(
        "the bootstrap task finished without printing its report line "
        f"({REPORT_PREFIX}...); read the task's logs on the host for the reason"
    )
