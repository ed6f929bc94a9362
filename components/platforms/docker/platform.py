"""Realizes an AppSpec on one Docker engine (local socket, tcp or ssh) with pulumi-docker.

Long-running services: `restart: unless-stopped`, memory (swap only where the app allows it) and
CPU limits, json-file log rotation, a health check, and creation only after the services they depend on are healthy. One-shot tasks
run to completion (the provider attaches and waits); a task that fails stops everything that
comes after it, with a message naming it. Only the entrypoint is published, on bindAddress:port.
Data volumes outlive the stack: they are retained when deleted and protected when asked. Images
the app asks to build (AppSpec.builds) are built by the same engine and never pushed.
"""

from __future__ import annotations

import posixpath
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from components.platforms.docker import commands, containers, deploy_check, env_file, stop
from components.platforms.docker.containers import require_success
from components.platforms.docker.settings import DockerSettings
from components.plugins import PlatformArgs
from components.spec import AppSpec, ImageBuild, ScheduledTask, Service, Task, Workload

TYPE = "error-tracking:platforms:Docker"
HEALTHY_TIMEOUT_SECONDS = 600


class DockerPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        self.spec: AppSpec = args.spec.for_platform("docker")
        self.settings: DockerSettings = args.settings
        self.prefix = self.settings.name_prefix or self.spec.name
        self.build_root = args.build_root
        hidden = pulumi.Output.secret if self.settings.secret else (lambda value: value)
        self.provider = args.provider or docker.Provider(
            f"{name}-engine",
            host=hidden(self.settings.host),
            ssh_opts=hidden(list(self.settings.ssh_opts)) if self.settings.ssh_opts else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self._name = name
        self.child_options = self._child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.network = docker.Network(
            f"{name}-network", name=self.prefix, driver="bridge", labels=self._labels("network"),
            opts=self._child,
        )
        # Images the app asks to build are built on this engine (never pushed); the rest are pulled.
        self.builds = {b.reference: self._build(b) for b in self.spec.builds}
        self.images = {
            image: docker.RemoteImage(
                f"{name}-image-{_label(image)}",
                name=image,
                keep_locally=True,
                opts=self._child,
            )
            for image in sorted({w.image for w in self.spec.workloads()} - set(self.builds))
        }
        self.volumes = {
            v.name: docker.Volume(
                f"{name}-volume-{v.name}",
                name=f"{self.prefix}-{v.name}",
                labels=self._labels(v.name),
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                    # Data outlives the stack: deleting or replacing the resource keeps the volume.
                    retain_on_delete=v.data,
                    protect=v.data and args.protect,
                )),
            )
            for v in self.spec.volumes
            if v.name not in self.settings.host_paths
        }
        self.containers: dict[str, list[docker.Container]] = {}
        # Per task: an Output that resolves to "0" once the task succeeded and fails otherwise.
        self._succeeded: dict[str, pulumi.Output[str]] = {}
        self._owners = {v.name: self._owner(v) for v in self.spec.volumes if v.owner is not None and v.name in self.volumes}
        # Steps that stop what an upgrade replaces, before anything that runs after them.
        self._stopped = {s.name: stop.declare(self, s) for s in self.spec.stops}
        for workload in self.spec.start_order():
            self._declare(workload)
        self.url = pulumi.Output.from_input(f"http://{self.settings.bind_address}:{self.settings.port}")
        self.recorded: dict = {}  # nothing the next deployment must check
        self.register_outputs({"localUrl": self.url, "network": self.network.name})

    # --- Platform protocol -------------------------------------------------------------------

    def task_output(self, task: str) -> pulumi.Output[str]:
        container = self.containers[task][0]
        # Only a successful run's output is trusted; a failed one raises TaskFailed instead.
        return pulumi.Output.secret(
            pulumi.Output.all(self._succeeded[task], container.container_logs).apply(lambda v: v[1] or "")
        )

    def deliver_dsn(self, name: str, target, dsn: pulumi.Output[str]) -> pulumi.Output[str]:
        """Write the DSN into an env file, on the Docker host or (`host`) on another over SSH;
        returns the delivery's status."""
        where = target.target
        if where.host is not None:
            if not where.host_key:
                commands.warn_unpinned(where.host, "that dsnTargets entry's envFile.hostKey", self, target.secret)
            command = env_file.remote_update(
                f"{self._name}-dsn-{name}", where, dsn, secret=target.secret, opts=pulumi.ResourceOptions(parent=self))
            return command.id.apply(lambda _: f"{where.key} in {where.where}")
        container = env_file.update_container(
            f"{self._name}-dsn-{name}",
            where,
            dsn,
            image=self.tool_image(env_file.IMAGE, "env-file-tool"),
            name=f"{self.prefix}-dsn-{name}",
            secret=target.secret,
            opts=self._child,
        )
        return require_success(f"the DSN delivery to {where.path}", container).apply(
            lambda _: f"{where.key} in {where.path}")

    def post_deploy_check(self, dsn: pulumi.Output[str], triggers: Sequence[pulumi.Input],
                          timeout_seconds: int) -> Optional[pulumi.Output[str]]:
        """Health and ingest checked where the published port is reachable (see deploy_check)."""
        return deploy_check.declare(self, dsn, triggers, timeout_seconds)

    def tool_image(self, image: str, label: str) -> pulumi.Output[str]:
        """A helper image (env-file tool, check), pulled once through this engine."""
        if image not in self.images:
            self.images[image] = docker.RemoteImage(
                f"{self._name}-image-{label}", name=image, keep_locally=True, opts=self._child
            )
        return self.images[image].image_id

    # --- realization -------------------------------------------------------------------------

    def _build(self, build: ImageBuild) -> docker.Image:
        """The image built by this engine from the repository's Dockerfile, kept there (no push).

        The provider hashes the context (the Dockerfile and anything beside it) with the build
        args and rebuilds only when they change; containers run the resulting image ID, so a
        rebuild replaces them and an unchanged build touches nothing."""
        # Relative paths are the project directory's, where Pulumi runs the program (or build_root).
        context = posixpath.join(self.build_root, build.context) if self.build_root else build.context
        return docker.Image(
            f"{self._name}-build-{_label(build.reference)}",
            image_name=build.reference,
            build=docker.DockerBuildArgs(
                context=context,
                dockerfile=posixpath.join(context, build.dockerfile),
                args=dict(build.args),
                platform=build.platform,
            ),
            skip_push=True,
            opts=self._child,
        )

    def image_id(self, image: str) -> pulumi.Output[str]:
        """The engine's ID of a workload's image, once pulled or built."""
        if image in self.builds:
            # For an image built and not pushed, the local image ID (sha256:...).
            return self.builds[image].repo_digest
        return self.images[image].image_id

    def image_resource(self, image: str) -> pulumi.Resource:
        """What pulls or builds a workload's image."""
        return self.builds.get(image) or self.images[image]

    def _owner(self, volume) -> docker.Container:
        """A fresh Docker volume belongs to root: a one-shot container hands it to its owner."""
        return docker.Container(
            f"{self._name}-volume-owner-{volume.name}",
            name=f"{self.prefix}-volume-owner-{volume.name}",
            image=self.tool_image(env_file.IMAGE, "env-file-tool"),
            command=["chown", f"{volume.owner}:{volume.owner}", "/volume"],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volumes[volume.name].name, container_path="/volume")],
            **containers.one_shot(memory_mb=16),
            opts=self._child,
        )

    def _declare(self, workload: Workload) -> None:
        depends = [c for d in (*workload.depends_on, *workload.after) for c in self.containers.get(d, ())]
        depends += [self._owners[m.volume] for m in workload.mounts if m.volume in self._owners]
        depends += [self._stopped[d] for d in workload.after if d in self._stopped]
        # Starting after a task is only allowed once it succeeded: the gate fails the update otherwise
        # (a stop step that fails is a failed resource: nothing after it is created).
        gates = {f"error-tracking.after.{task}": self._succeeded[task] for task in workload.after
                 if task not in self._stopped}
        common = dict(
            image=self.image_id(workload.image),
            entrypoints=list(workload.entrypoint) if workload.entrypoint else None,
            envs=containers.envs(workload),
            uploads=containers.uploads(self.spec, workload),
            tmpfs=containers.tmpfs(workload),
            ulimits=containers.ulimits(workload),
            memory=workload.resources.memory_mb,
            memory_swap=containers.memory_swap(workload.resources),
            shm_size=workload.shared_memory_mb,
            **containers.memory_reservation(workload.resources),
            cpus=f"{workload.resources.cpu:g}",
            log_driver="json-file",
            log_opts=containers.LOG_OPTIONS,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[workload.name])],
            volumes=[*(self._mount(m) for m in workload.mounts), *containers.disk_scratch(workload)],
            labels=self._labels(workload.name, gates),
            security_opts=["no-new-privileges:true"],
            stop_timeout=workload.stop_grace_seconds,
            destroy_grace_seconds=workload.stop_grace_seconds,
        )
        def opts(*secret_outputs: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                depends_on=depends, additional_secret_outputs=["envs", "uploads", *secret_outputs]))

        if isinstance(workload, Task):
            container = docker.Container(
                f"{self._name}-{workload.name}",
                name=f"{self.prefix}-{workload.name}",
                command=list(workload.command) if workload.command else None,
                # Run to completion: the provider attaches, waits for the exit, keeps the logs.
                attach=True,
                must_run=False,
                logs=workload.reports,
                restart="no",
                **common,
                opts=opts("container_logs"),
            )
            self._succeeded[workload.name] = require_success(f"task {workload.name}", container)
            self.containers[workload.name] = [container]
            return
        scheduled = isinstance(workload, ScheduledTask)
        command = containers.scheduled_loop(workload) if scheduled else workload.command
        health = workload.health
        replicas = workload.replicas if isinstance(workload, Service) else 1
        self.containers[workload.name] = [
            docker.Container(
                f"{self._name}-{workload.name}" + (f"-{index + 1}" if index else ""),
                name=f"{self.prefix}-{workload.name}" + (f"-{index + 1}" if index else ""),
                command=list(command) if command else None,
                restart="unless-stopped",
                healthcheck=containers.healthcheck(health) if health else None,
                # Wait until healthy, so that what depends on it starts against a ready service.
                wait=bool(health) and not scheduled,
                wait_timeout=HEALTHY_TIMEOUT_SECONDS if health else None,
                ports=self._ports(workload) if isinstance(workload, Service) else None,
                **common,
                opts=opts(),
            )
            for index in range(replicas)
        ]

    def _mount(self, mount) -> docker.ContainerVolumeArgs:
        if mount.volume in self.settings.host_paths:
            path = self.settings.host_paths[mount.volume]
            return docker.ContainerVolumeArgs(
                host_path=pulumi.Output.secret(path) if self.settings.secret else path,
                container_path=mount.path, read_only=mount.read_only,
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

    def _labels(self, component: str, extra=None) -> list[docker.ContainerLabelArgs]:
        return containers.labels(self.spec.name, self.prefix, component, extra or {})


def _label(image: str) -> str:
    return image.replace('/', '-').replace(':', '-').replace('@', '-')


def check(spec: AppSpec, settings: DockerSettings) -> list[str]:
    """Cross-checks between the Docker settings and what the app declares (run before any resource)."""
    known = {v.name for v in spec.volumes}
    problems = [
        f"error-tracking:docker.hostPaths.{volume}: no such volume; volumes are {', '.join(sorted(known))}"
        for volume in settings.host_paths
        if volume not in known
    ]
    entry = spec.service(spec.entrypoint.service)
    if entry.replicas > 1:
        problems.append(
            f"error-tracking:{spec.name}.replicas.{entry.name}: the Docker platform publishes one "
            f"{entry.name} container on docker.port; set it to 1 (more processes: its worker setting)"
        )
    return problems
