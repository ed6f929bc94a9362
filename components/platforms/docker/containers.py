"""Container arguments from spec workloads: environment, files, scratch space, limits, checks;
and the judgement of a one-shot container's exit code (`require_success`).

Pure functions from the description to pulumi-docker argument objects, so that the platform
component only decides what exists and in which order.
"""

from __future__ import annotations

import shlex
from typing import Mapping, Optional

import pulumi
import pulumi_docker as docker

from components.spec import AppSpec, HealthCheck, Resources, ScheduledTask, Workload

LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}


def one_shot(memory_mb: int = 32) -> dict:
    """A helper container run once to completion (env-file edit, check, volume owner): the
    provider attaches, waits for its exit and keeps one small log."""
    return dict(attach=True, must_run=False, restart="no", memory=memory_mb, log_driver="json-file",
                log_opts={"max-size": "1m", "max-file": "1"})


def envs(workload: Workload) -> pulumi.Output:
    """`KEY=value` strings; secret whenever any value is (the engine then keeps them secret in state)."""
    items = {
        **{k: pulumi.Output.from_input(v) for k, v in workload.env.items()},
        # The spec's promise: whatever the app passed, these never reach state in clear.
        **{k: pulumi.Output.secret(v) for k, v in workload.secret_env.items()},
    }
    return pulumi.Output.all(**items).apply(
        lambda values: [f"{k}={values[k]}" for k in sorted(values)]
    )


def uploads(spec: AppSpec, workload: Workload) -> Optional[list[docker.ContainerUploadArgs]]:
    """The app's configuration files, copied into the container before it starts.

    Secret files are readable by the workload's own user only (0440); plain ones by anyone.
    """
    if not workload.files:
        return None
    result = []
    for mount in workload.files:
        file = spec.file(mount.file)
        result.append(docker.ContainerUploadArgs(
            file=mount.path,
            content=pulumi.Output.secret(file.content) if file.secret else file.content,
            permissions="0440" if file.secret else "0444",
            owner=str(workload.run_as_user) if workload.run_as_user is not None else None,
            group=str(workload.run_as_group) if workload.run_as_group is not None else None,
        ))
    return result


def tmpfs(workload: Workload) -> Optional[Mapping[str, str]]:
    """Memory scratch space as tmpfs, writable by whatever user the image runs as."""
    memory = {s.path: f"size={s.size_mb}m,mode=1777" for s in workload.scratch if s.memory}
    return memory or None


def disk_scratch(workload: Workload) -> list[docker.ContainerVolumeArgs]:
    """Disk scratch space as anonymous volumes: on the engine's disk, outside the memory limit,
    started from the image's own directory (its permissions) and removed with the container."""
    return [docker.ContainerVolumeArgs(container_path=s.path) for s in workload.scratch if not s.memory]


def memory_swap(resources: Resources) -> int:
    """Docker's memory-swap is memory plus swap: equal to the limit, no swap at all."""
    return resources.memory_mb + resources.swap_mb


def memory_reservation(resources: Resources) -> dict:
    """Docker's soft limit (what the engine reclaims towards under memory pressure): the typical
    use the app declared, when it declared one."""
    if resources.memory_request_mb is None:
        return {}
    return {"memory_reservation": resources.memory_request_mb}


def ulimits(workload: Workload) -> Optional[list[docker.ContainerUlimitArgs]]:
    if not workload.ulimits:
        return None
    return [docker.ContainerUlimitArgs(name=name, soft=value, hard=value)
            for name, value in sorted(workload.ulimits.items())]


def healthcheck(health: HealthCheck) -> docker.ContainerHealthcheckArgs:
    """Docker neither routes nor restarts by health: it checks that the process is alive (the
    health's liveness where it has one), in the container (HTTP and gRPC probes carry a command)."""
    command = health.alive.command
    if not command:
        raise ValueError("a Docker health check needs a command to run inside the container")
    return docker.ContainerHealthcheckArgs(
        tests=["CMD", *command],
        interval=f"{health.interval_seconds}s",
        timeout=f"{health.timeout_seconds}s",
        retries=health.retries,
        start_period=f"{health.start_period_seconds}s",
    )


def scheduled_loop(task: ScheduledTask) -> tuple[str, ...]:
    """Docker has no scheduler: a small shell loop runs the task at its time (UTC, on its day of
    the month if it has one), and once at start when its health check says no recent run exists
    (so a fresh host has a backup at once)."""
    if task.schedule.every_minutes:
        loop = "\n".join([
            "while :; do",
            f'  "$@" || echo "{task.name}: run failed" >&2',
            f"  sleep {task.schedule.every_minutes * 60}",
            "done",
        ])
        return ("sh", "-c", loop, task.name, *(task.command or ()))
    at = f"{task.schedule.hour:02d}:{task.schedule.minute:02d}"
    day = f"{task.schedule.day_of_month:02d}" if task.schedule.day_of_month else None
    fresh = shlex.join(task.health.probe.command) if task.health else "false"
    due = f'[ "$now" = "{at}" ]' + (f' && [ "$(date -u +%d)" = "{day}" ]' if day else "")
    loop = "\n".join([
        f'if ! {fresh}; then "$@" || echo "{task.name}: run failed" >&2; fi',
        'last=""',
        "while :; do",
        '  now="$(date -u +%H:%M)"; today="$(date -u +%F)"',
        f'  if {due} && [ "$last" != "$today" ]; then',
        f'    "$@" || echo "{task.name}: run failed" >&2',
        '    last="$today"',
        "  fi",
        "  sleep 20",
        "done",
    ])
    return ("sh", "-c", loop, task.name, *(task.command or ()))


def labels(app: str, instance: str, component: str, extra: Mapping[str, pulumi.Input[str]] = {}) -> list:
    values = {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
        **extra,
    }
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in values.items()]


class TaskFailed(Exception):
    pass


def require_success(what: str, container: docker.Container) -> pulumi.Output[str]:
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
