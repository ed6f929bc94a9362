"""The pieces a description is made of: probes and health checks, resources, volumes, mounts,
files, scratch space, ports, outside destinations and schedules."""

from __future__ import annotations

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

# The official Python image, pinned to the current 3.13 patch on Alpine (docker-library, Aug 2026):
# it runs this program's own stdlib-only helpers (the watchdog, the Kubernetes stop step).
PYTHON_IMAGE = "python:3.13.15-alpine3.24"


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
