"""Realizes an AppSpec on one Docker engine (local socket, tcp or ssh) with pulumi-docker.

Long-running services: `restart: unless-stopped`, memory and CPU limits, json-file log rotation,
a health check, and creation only after the services they depend on are healthy. One-shot tasks
run to completion (the provider attaches and waits); a task that fails stops everything that
comes after it, with a message naming it. Only the entrypoint is published, on bindAddress:port.
"""

from __future__ import annotations

import shlex
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.platforms.docker import env_file
from components.platforms.docker.settings import DockerSettings
from components.plugins import PlatformArgs
from components.spec import (
    AppSpec,
    HealthCheck,
    ScheduledTask,
    Service,
    Task,
    Workload,
)

LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
HEALTHY_TIMEOUT_SECONDS = 600


class TaskFailed(Exception):
    pass


class DockerPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("error-tracking:platforms:Docker", name, None, opts)
        self.spec: AppSpec = args.spec
        self.settings: DockerSettings = args.settings
        self.prefix = self.settings.name_prefix or self.spec.name
        self.provider = docker.Provider(
            f"{name}-engine",
            host=self.settings.host,
            ssh_opts=list(self.settings.ssh_opts) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.network = docker.Network(
            f"{name}-network", name=self.prefix, driver="bridge", labels=self._labels("network"),
            opts=self._child,
        )
        self.images = {
            image: docker.RemoteImage(
                f"{name}-image-{image.replace('/', '-').replace(':', '-')}",
                name=image,
                keep_locally=True,
                opts=self._child,
            )
            for image in sorted({w.image for w in self.spec.workloads()})
        }
        self.volumes = {
            v.name: docker.Volume(f"{name}-volume-{v.name}", name=f"{self.prefix}-{v.name}",
                                  labels=self._labels(v.name), opts=self._child)
            for v in self.spec.volumes
            if v.name not in self.settings.host_paths
        }
        self.containers: dict[str, docker.Container] = {}
        # Per task: an Output that resolves to "0" once the task succeeded and fails otherwise.
        self._succeeded: dict[str, pulumi.Output[str]] = {}
        for workload in _in_start_order(self.spec):
            self._declare(workload)
        self.url = pulumi.Output.from_input(
            f"http://{self.settings.bind_address}:{self.settings.port}"
        )
        self.register_outputs({"localUrl": self.url, "network": self.network.name})

    # --- Platform protocol -------------------------------------------------------------------

    def task_output(self, task: str) -> pulumi.Output[str]:
        container = self.containers[task]
        # Only a successful run's output is trusted; a failed one raises TaskFailed instead.
        return pulumi.Output.secret(
            pulumi.Output.all(self._succeeded[task], container.container_logs).apply(lambda v: v[1] or "")
        )

    def deliver_dsn(self, name: str, target, dsn: pulumi.Output[str]) -> pulumi.Output[str]:
        """Write the DSN into an env file on the Docker host; returns the delivery's status."""
        if env_file.IMAGE not in self.images:
            self.images[env_file.IMAGE] = docker.RemoteImage(
                f"{self._name}-image-env-file-tool", name=env_file.IMAGE, keep_locally=True, opts=self._child
            )
        container = env_file.update_container(
            f"{self._name}-dsn-{name}",
            target.env_file,
            dsn,
            image=self.images[env_file.IMAGE].image_id,
            name=f"{self.prefix}-dsn-{name}",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        path = target.env_file.path
        return _require_success(f"the DSN delivery to {path}", container).apply(
            lambda _: f"{target.env_file.key} in {path}")

    # --- realization -------------------------------------------------------------------------

    def _declare(self, workload: Workload) -> None:
        depends = [self.containers[d] for d in (*workload.depends_on, *workload.after)]
        labels = self._labels(workload.name)
        # Starting after a task is only allowed once it succeeded: the gate fails the update otherwise.
        labels += [
            docker.ContainerLabelArgs(label=f"error-tracking.after.{task}", value=self._succeeded[task])
            for task in workload.after
        ]
        common = dict(
            name=f"{self.prefix}-{workload.name}",
            image=self.images[workload.image].image_id,
            envs=_envs(workload),
            memory=workload.resources.memory_mb,
            memory_swap=workload.resources.memory_mb,
            cpus=f"{workload.resources.cpu:g}",
            log_driver="json-file",
            log_opts=LOG_OPTIONS,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(
                name=self.network.name, aliases=[workload.name])],
            volumes=[self._mount(m) for m in workload.mounts],
            labels=labels,
        )
        opts = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends))
        if isinstance(workload, Task):
            container = docker.Container(
                f"{self._name}-{workload.name}",
                command=list(workload.command) if workload.command else None,
                # Run to completion: the provider attaches, waits for the exit, keeps the logs.
                attach=True,
                must_run=False,
                logs=workload.reports,
                restart="no",
                **common,
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(additional_secret_outputs=["container_logs", "envs"])
                ),
            )
            self._succeeded[workload.name] = _require_success(f"task {workload.name}", container)
        else:
            health = workload.health
            command = workload.command
            if isinstance(workload, ScheduledTask):
                command = _daily_loop(workload)
            container = docker.Container(
                f"{self._name}-{workload.name}",
                command=list(command) if command else None,
                restart="unless-stopped",
                healthcheck=_healthcheck(health) if health else None,
                # Wait until healthy, so that what depends on it starts against a ready service.
                wait=bool(health) and not isinstance(workload, ScheduledTask),
                wait_timeout=HEALTHY_TIMEOUT_SECONDS if health else None,
                ports=self._ports(workload) if isinstance(workload, Service) else None,
                **common,
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["envs"])),
            )
        self.containers[workload.name] = container

    def _mount(self, mount) -> docker.ContainerVolumeArgs:
        if mount.volume in self.settings.host_paths:
            return docker.ContainerVolumeArgs(
                host_path=self.settings.host_paths[mount.volume], container_path=mount.path, read_only=mount.read_only
            )
        return docker.ContainerVolumeArgs(
            volume_name=self.volumes[mount.volume].name, container_path=mount.path, read_only=mount.read_only
        )

    def _ports(self, service: Service):
        entry = self.spec.entrypoint
        if service.name != entry.service:
            return None
        return [docker.ContainerPortArgs(
            internal=entry.port, external=self.settings.port, ip=self.settings.bind_address, protocol="tcp"
        )]

    def _labels(self, component: str) -> list[docker.ContainerLabelArgs]:
        return [
            docker.ContainerLabelArgs(label="app.kubernetes.io/name", value=self.spec.name),
            docker.ContainerLabelArgs(label="app.kubernetes.io/instance", value=self.prefix),
            docker.ContainerLabelArgs(label="app.kubernetes.io/component", value=component),
            docker.ContainerLabelArgs(label="app.kubernetes.io/managed-by", value="pulumi"),
        ]


def check(spec: AppSpec, settings: DockerSettings) -> list[str]:
    """Cross-checks between the Docker settings and what the app declares (run before any resource)."""
    known = {v.name for v in spec.volumes}
    return [
        f"error-tracking:docker.hostPaths.{volume}: no such volume; volumes are {', '.join(sorted(known))}"
        for volume in settings.host_paths
        if volume not in known
    ]


def _require_success(what: str, container: docker.Container) -> pulumi.Output[str]:
    def check(values):
        exit_code, name = values
        if exit_code is None:
            return "0"  # preview, or a provider that does not report: nothing to judge
        if int(exit_code) != 0:
            raise TaskFailed(
                f"{what} exited with code {int(exit_code)}; read `docker logs {name}` on the Docker host, fix the "
                f"cause, then run it again with `pulumi up --replace <urn of {name}>`"
            )
        return "0"

    return pulumi.Output.all(container.exit_code, container.name).apply(check)


def _envs(workload: Workload) -> pulumi.Output:
    """`KEY=value` strings; secret whenever any value is (the engine then keeps them secret in state)."""
    items = {**workload.env, **workload.secret_env}
    return pulumi.Output.all(**{k: pulumi.Output.from_input(v) for k, v in items.items()}).apply(
        lambda values: [f"{k}={values[k]}" for k in sorted(values)]
    )


def _healthcheck(health: HealthCheck) -> docker.ContainerHealthcheckArgs:
    command = health.probe.command  # HttpProbe carries the in-container equivalent
    if not command:
        raise ValueError("a Docker health check needs a command to run inside the container")
    return docker.ContainerHealthcheckArgs(
        tests=["CMD", *command],
        interval=f"{health.interval_seconds}s",
        timeout=f"{health.timeout_seconds}s",
        retries=health.retries,
        start_period=f"{health.start_period_seconds}s",
    )


def _daily_loop(task: ScheduledTask) -> tuple[str, ...]:
    """Docker has no scheduler: a small shell loop runs the task daily at hour:minute UTC, and once
    at start when its health check says no recent run exists (so a fresh host has a backup at once)."""
    at = f"{task.hour:02d}:{task.minute:02d}"
    fresh = shlex.join(task.health.probe.command) if task.health else "false"
    loop = "\n".join([
        f'if ! {fresh}; then "$@" || echo "{task.name}: run failed" >&2; fi',
        'last=""',
        "while :; do",
        '  now="$(date -u +%H:%M)"; today="$(date -u +%F)"',
        f'  if [ "$now" = "{at}" ] && [ "$last" != "$today" ]; then',
        f'    "$@" || echo "{task.name}: run failed" >&2',
        '    last="$today"',
        "  fi",
        "  sleep 20",
        "done",
    ])
    return ("sh", "-c", loop, task.name, *task.command)


def _in_start_order(spec: AppSpec) -> list[Workload]:
    """Workloads ordered so that everything a workload waits for is declared before it."""
    pending = list(spec.workloads())
    ordered: list[Workload] = []
    done: set[str] = set()
    while pending:
        ready = [w for w in pending if set(w.depends_on) | set(w.after) <= done]
        if not ready:
            raise ValueError(f"{spec.name}: circular start order among {[w.name for w in pending]}")
        for workload in ready:
            ordered.append(workload)
            done.add(workload.name)
            pending.remove(workload)
    return ordered
