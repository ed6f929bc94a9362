"""Pod templates from workloads: env sources, resources, hardened security context, probes.

One place builds every container, so no workload can miss the resource limits or the
security settings; these builders return plain dicts (snake_case, as the SDK accepts).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

from components.spec import CommandProbe, GrpcProbe, HealthCheck, HttpProbe, Port, Probe, Resources, Service, Workload


def resources(r: Resources) -> dict[str, Any]:
    return {
        "limits": {"memory": f"{r.memory_mb}Mi", "cpu": _cpu(r.cpu)},
        "requests": {"memory": f"{r.reserved_memory_mb}Mi", "cpu": _cpu(r.reserved_cpu)},
    }


def _cpu(cores: float) -> str:
    return f"{max(1, int(round(cores * 1000)))}m"


SHARED_MEMORY_VOLUME = "shared-memory"


def shared_memory_volume(size_mb: int) -> dict[str, Any]:
    """/dev/shm of the workload's size: a memory-backed emptyDir, so what it holds is charged to
    the container's memory limit (a pod's own /dev/shm is 64 MiB, whatever it asks)."""
    return {"name": SHARED_MEMORY_VOLUME, "empty_dir": {"medium": "Memory", "size_limit": f"{size_mb}Mi"}}


def container_security(w: Workload) -> dict[str, Any]:
    """Non-root, no privilege escalation, no capabilities but those the image needs, and a
    read-only root filesystem where the app says its image writes only to its mounts."""
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if w.capabilities:
        capabilities["add"] = list(w.capabilities)
    context: dict[str, Any] = {
        "run_as_non_root": not w.root,
        "allow_privilege_escalation": False,
        "capabilities": capabilities,
        "seccomp_profile": {"type": "RuntimeDefault"},
        "read_only_root_filesystem": w.read_only_root,
    }
    if w.root:
        return context
    if w.run_as_user is not None:
        context["run_as_user"] = w.run_as_user
    if w.run_as_group is not None:
        context["run_as_group"] = w.run_as_group
    return context


def pod_security(w: Workload) -> dict[str, Any]:
    context: dict[str, Any] = {"run_as_non_root": not w.root, "seccomp_profile": {"type": "RuntimeDefault"}}
    group = w.run_as_group if w.run_as_group is not None else w.run_as_user
    if group is not None:
        # Volumes become writable by the workload's group; only re-chown when the root differs.
        context["fs_group"] = group
        context["fs_group_change_policy"] = "OnRootMismatch"
    return context


def _handler(check: Probe) -> dict[str, Any]:
    if isinstance(check, HttpProbe):
        return {"http_get": {"path": check.path, "port": check.port}}
    if isinstance(check, CommandProbe):
        return {"exec_": {"command": list(check.command)}}
    if isinstance(check, GrpcProbe):
        # Kubernetes' own gRPC probe (GA in 1.27): no client binary needed in the image.
        return {"grpc": {"port": check.port, **({"service": check.service} if check.service else {})}}
    raise TypeError(f"unknown probe {check!r}")  # pragma: no cover - spec only knows these


def probe(health: HealthCheck, *, startup: bool = False, alive: bool = False) -> dict[str, Any]:
    """The readiness probe; `alive`: the liveness probe (the health's `liveness` where it has one);
    `startup`: the startup probe, which checks liveness too, so a slow start is never restarted."""
    result = {
        **_handler(health.alive if (alive or startup) else health.probe),
        "period_seconds": health.interval_seconds,
        "timeout_seconds": health.timeout_seconds,
        "failure_threshold": health.retries,
    }
    if startup:
        # The start period is spent in the startup probe, so liveness never kills a slow start.
        result["failure_threshold"] = health.retries + math.ceil(health.start_period_seconds / max(1, health.interval_seconds))
    return result


def port_names(ports: Sequence[Port]) -> list[str]:
    """Port names valid for Kubernetes (IANA_SVC_NAME, unique per container)."""
    names: list[str] = []
    for port in ports:
        name = port.name.lower().replace("_", "-")[:15]
        valid = name and name[0].isalnum() and name[-1].isalnum() and any(c.isalpha() for c in name)
        if not valid or name in names:
            name = f"port-{port.number}"[:15]
        names.append(name)
    return names


def container(
    w: Workload,
    *,
    config_map: Optional[str],
    secret: Optional[str],
    volume_names: Mapping[str, str],
    extra_mounts: Sequence[Mapping[str, Any]] = (),
    command: Optional[list[str]] = None,
) -> dict[str, Any]:
    """`w.command` replaces the image's CMD (container args) and `w.entrypoint` its ENTRYPOINT
    (container command), as Docker means them; `command` replaces both (wrapped tasks)."""
    env_from = []
    if config_map:
        env_from.append({"config_map_ref": {"name": config_map}})
    if secret:
        env_from.append({"secret_ref": {"name": secret}})
    result: dict[str, Any] = {
        "name": container_name(w),
        "image": w.image,
        "resources": resources(w.resources),
        "security_context": container_security(w),
    }
    if command is not None:
        result["command"] = command
    else:
        if w.entrypoint:
            result["command"] = list(w.entrypoint)
        if w.command:
            result["args"] = list(w.command)
    if env_from:
        result["env_from"] = env_from
    mounts = [{"name": volume_names[m.volume], "mount_path": m.path, "read_only": m.read_only} for m in w.mounts]
    mounts.extend(dict(m) for m in extra_mounts)
    if w.shared_memory_mb:
        mounts.append({"name": SHARED_MEMORY_VOLUME, "mount_path": "/dev/shm"})
    if mounts:
        result["volume_mounts"] = mounts
    if isinstance(w, Service):
        if w.ports:
            result["ports"] = [
                {"name": name, "container_port": p.number, "protocol": "TCP"}
                for p, name in zip(w.ports, port_names(w.ports))
            ]
        if w.health is not None:
            result["startup_probe"] = probe(w.health, startup=True)
            if w.ports:
                # Readiness only gates Service endpoints; a second concurrent probe would also
                # consume heartbeat files that checks delete as they read them.
                result["readiness_probe"] = probe(w.health)
            result["liveness_probe"] = probe(w.health, alive=True)
    return result


def container_name(w: Workload) -> str:
    return w.name.lower().replace("_", "-")


def pod_spec(
    w: Workload,
    containers: list[dict[str, Any]],
    *,
    volumes: list[dict[str, Any]],
    restart_policy: Optional[str] = None,
    service_account: Optional[str] = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": containers,
        "security_context": pod_security(w),
        # Only the reporting task talks to the API server; no other pod gets a token.
        "automount_service_account_token": service_account is not None,
    }
    if service_account:
        spec["service_account_name"] = service_account
    if w.stop_grace_seconds is not None:
        spec["termination_grace_period_seconds"] = w.stop_grace_seconds
    if w.shared_memory_mb:
        volumes = [*volumes, shared_memory_volume(w.shared_memory_mb)]
    if volumes:
        spec["volumes"] = volumes
    if restart_policy:
        spec["restart_policy"] = restart_policy
    return spec
