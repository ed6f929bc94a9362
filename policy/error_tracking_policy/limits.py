"""A memory limit on every container: one runaway process must not take the host or node down."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from .workloads import DOCKER_CONTAINER, pod_containers


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == DOCKER_CONTAINER:
        if not args.props.get("memory"):
            report_violation(
                f"container {args.name} has no memory limit: set `memory` (MB) on it, from the app's "
                "resources.<container>.memoryMb setting")
        return
    for container in pod_containers(args.resource_type, args.props):
        limits = (container.spec.get("resources") or {}).get("limits") or {}
        if not limits.get("memory"):
            report_violation(
                f"{args.name}: container {container.name} has no memory limit: set "
                "resources.limits.memory on it, from the app's resources.<container>.memoryMb setting")


POLICY = ResourceValidationPolicy(
    name="memory-limit-on-every-container",
    description="Every Docker container and every Kubernetes pod container has a memory limit.",
    validate=_validate,
)
