"""What runs: long-running services, one-shot tasks, scheduled tasks, the steps that stop the
previous version first, and the public entrypoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

from components.spec.parts import (
    Egress,
    FileMount,
    HealthCheck,
    Mount,
    Port,
    Resources,
    Schedule,
    Scratch,
)


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
