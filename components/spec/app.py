"""The whole description of an app (AppSpec): checked for consistency, and viewed per platform;
and the report line a reporting task prints."""

from __future__ import annotations

import dataclasses
import graphlib
import posixpath
from dataclasses import dataclass
from typing import Optional

from components.spec.parts import (
    NAME,
    ConfigFile,
    ImageBuild,
    Volume,
)
from components.spec.workloads import (
    Entrypoint,
    ScheduledTask,
    Service,
    StopFirst,
    Task,
    Workload,
)


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
