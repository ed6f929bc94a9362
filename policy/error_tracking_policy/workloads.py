"""Where containers live in the resources the program declares, so each policy reads them one way.

A Docker container is one resource; a Kubernetes container sits in the pod template of a
workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job), one level deeper in a CronJob,
or directly in a Pod. Properties are the engine's camelCase inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_IMAGE = "docker:index/remoteImage:RemoteImage"
DOCKER_VOLUME = "docker:index/volume:Volume"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"

# Kubernetes types whose pod spec is at spec.template.spec.
_TEMPLATED = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
}
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
KUBERNETES_WORKLOADS = frozenset(_TEMPLATED | {CRON_JOB, POD})


@dataclass(frozen=True)
class PodContainer:
    """One container of a Kubernetes pod, with the pod-level security context beside it."""

    name: str
    spec: Mapping[str, Any]
    pod_security: Mapping[str, Any]


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The pod spec of a Kubernetes workload, or None for any other resource."""
    if resource_type in _TEMPLATED:
        return _get(props, "spec", "template", "spec")
    if resource_type == CRON_JOB:
        return _get(props, "spec", "jobTemplate", "spec", "template", "spec")
    if resource_type == POD:
        return _get(props, "spec")
    return None


def pod_containers(resource_type: str, props: Mapping[str, Any]) -> Iterator[PodContainer]:
    """Every container and init container of a Kubernetes workload (none for other resources)."""
    spec = pod_spec(resource_type, props)
    if not spec:
        return
    security = spec.get("securityContext") or {}
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            yield PodContainer(container.get("name", "?"), container, security)


def image_repository(reference: str) -> str:
    """`registry/repo:tag@digest` -> `registry/repo`: how the pack's config names an image."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last
