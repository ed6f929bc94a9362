"""The platform-neutral description of an app: what runs, never where.

An app (GlitchTip, later Sentry) describes its services and one-shot tasks once, with these
types; a platform (Docker, Kubernetes) realizes the description. Neither knows the other, so a
new app or a new platform is added without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import pulumi


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
class HealthCheck:
    probe: Union[HttpProbe, CommandProbe]
    interval_seconds: int = 10
    timeout_seconds: int = 5
    retries: int = 6
    start_period_seconds: int = 30


@dataclass(frozen=True)
class Resources:
    """Limits a container may not exceed; requests are what it is guaranteed (Kubernetes)."""

    memory_mb: int
    cpu: float
    memory_request_mb: Optional[int] = None
    cpu_request: Optional[float] = None

    @property
    def requested_memory_mb(self) -> int:
        return self.memory_request_mb or self.memory_mb

    @property
    def requested_cpu(self) -> float:
        return self.cpu_request or self.cpu


@dataclass(frozen=True)
class Volume:
    """Persistent storage. `shared` volumes are mounted by more than one service."""

    name: str
    size_gb: int
    shared: bool = False


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class Port:
    number: int
    name: str = "http"


@dataclass(frozen=True)
class Workload:
    """What services and tasks have in common: a container and how it is started."""

    name: str
    image: str
    resources: Resources
    command: Optional[tuple[str, ...]] = None
    env: Mapping[str, str] = field(default_factory=dict)
    # Values that must stay secret: platforms put them in secret stores, never in plain config.
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    # Services that must be healthy before this one starts; they are also the only peers it
    # needs to reach, which platforms use for network policies.
    depends_on: tuple[str, ...] = ()
    # Tasks that must have completed successfully before this one starts.
    after: tuple[str, ...] = ()
    # The uid the image runs as (None: the image's own default).
    run_as_user: Optional[int] = None
    run_as_group: Optional[int] = None


@dataclass(frozen=True)
class Service(Workload):
    """A long-running process."""

    ports: tuple[Port, ...] = ()
    health: Optional[HealthCheck] = None
    # Holds data of its own (a database): a StatefulSet on Kubernetes, never scaled out.
    stateful: bool = False
    # May run several replicas side by side (stateless web and worker processes).
    scalable: bool = False


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
    """A process run once a day at `hour:minute` UTC (backups), with a check that it still succeeds.

    `health` proves the job keeps succeeding (for example: the newest backup is recent);
    platforms that run the schedule in a long-lived container use it as that container's check.
    """

    hour: int = 3
    minute: int = 0
    health: Optional[HealthCheck] = None


@dataclass(frozen=True)
class Entrypoint:
    """The service and port that the public URL reaches (host port on Docker, Ingress on Kubernetes)."""

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

    def service(self, name: str) -> Service:
        return _by_name(self.services, name)

    def task(self, name: str) -> Task:
        return _by_name(self.tasks, name)

    def volume(self, name: str) -> Volume:
        return _by_name(self.volumes, name)

    def workloads(self) -> tuple[Workload, ...]:
        return (*self.services, *self.tasks, *self.scheduled)

    def dependents_of(self, service: str) -> tuple[str, ...]:
        """Names of the workloads that declare `service` in depends_on: its only clients."""
        return tuple(w.name for w in self.workloads() if service in w.depends_on)

    def validate(self) -> None:
        """Catch an inconsistent description early, with a message that names the culprit."""
        names = [w.name for w in self.workloads()]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: workload names are not unique: {names}")
        services = {s.name for s in self.services}
        tasks = {t.name for t in self.tasks}
        volumes = {v.name for v in self.volumes}
        for w in self.workloads():
            for dep in w.depends_on:
                if dep not in services:
                    raise ValueError(f"{self.name}/{w.name}: depends on unknown service {dep!r}")
            for dep in w.after:
                if dep not in tasks:
                    raise ValueError(f"{self.name}/{w.name}: runs after unknown task {dep!r}")
            for m in w.mounts:
                if m.volume not in volumes:
                    raise ValueError(f"{self.name}/{w.name}: mounts unknown volume {m.volume!r}")
        if self.entrypoint.service not in services:
            raise ValueError(f"{self.name}: entrypoint service {self.entrypoint.service!r} is unknown")


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
