"""Kubernetes settings that must match the app's description, checked before any resource."""

from __future__ import annotations

from components.platforms.kubernetes.naming import dns_label
from components.platforms.kubernetes.settings import API_SERVER, KubernetesSettings
from components.platforms.kubernetes.storage import across_nodes
from components.spec import AppSpec, Task

PREFIX = "error-tracking:kubernetes"


def check(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    problems = []
    known = {dns_label(v.name, "volume") for v in spec.volumes}
    for key in settings.volume_sizes:
        if key not in known:
            problems.append(f"{PREFIX}.volumeSizes.{key}: {spec.name} has no volume {key!r} "
                            f"(volumes: {', '.join(sorted(known))})")
    scalable = {s.name: s for s in spec.services if s.scalable}
    for name, autoscaling in settings.autoscaling.items():
        service = scalable.get(name)
        if service is None:
            why = (f"{spec.name} runs at most one {name!r} as configured (a bound of the {spec.name} settings)"
                   if name in {s.name for s in spec.services} else f"{spec.name} has no scalable service {name!r}")
            problems.append(f"{PREFIX}.autoscaling.{name}: {why} (scalable: {', '.join(sorted(scalable)) or 'none'})")
        elif service.max_replicas is not None and autoscaling.max_replicas > service.max_replicas:
            # The bound is the app's (what it is sized for, a queue's partitions...): its own
            # settings raise it, and name the setting when they refuse a value.
            problems.append(
                f"{PREFIX}.autoscaling.{name}.maxReplicas: must be at most {service.max_replicas}, the most "
                f"{name} replicas {spec.name} allows (raise that bound in the {spec.name} settings first), "
                f"got {autoscaling.max_replicas}"
            )
    problems.extend(_egress(spec, settings))
    problems.extend(_shared_claims(spec, settings))
    if spec.builds:
        problems.append(f"error-tracking:platform: kubernetes builds no images, and {spec.name} asked for "
                        f"{', '.join(b.reference for b in spec.builds)}; give {spec.name} a pushed image instead")
    return problems


def _shared_claims(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    """A claim several pods mount at once needs a ReadWriteMany class; the cluster's default class
    (EKS, GKE, AKS, k3s, Longhorn) serves ReadWriteOnce only, and the pods would stay Pending."""
    if settings.shared_storage_class:
        return []
    spec = spec.for_platform("kubernetes")
    shared = [v for v in spec.volumes if across_nodes(v)]
    if not shared:
        return []
    mounters = {v.name: sorted({w.name for w in spec.workloads() if any(m.volume == v.name for m in w.mounts)})
                for v in shared}
    listed = "; ".join(f"{dns_label(v.name, 'volume')} (mounted by {', '.join(mounters[v.name])})" for v in shared)
    return [f"{PREFIX}.sharedStorageClass: is required: {spec.name} mounts {listed} from several pods at once, "
            "which needs a ReadWriteMany StorageClass (NFS, EFS, Filestore, Azure Files; MicroK8s' hostpath on "
            "one node). The cluster's default class on EKS, GKE, AKS, k3s and Longhorn serves ReadWriteOnce "
            "only, so those pods would stay Pending; set kubernetes.sharedStorageClass to a ReadWriteMany class"]


def _egress(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    """Addresses for a destination no workload has would be silently unused (a typo leaves the
    real destination open to anywhere): refuse them by name."""
    known = {e.name for w in spec.workloads() for e in w.egress}
    if any(isinstance(t, Task) and t.reports for t in spec.tasks):
        known.add(API_SERVER)
    return [
        f"{PREFIX}.egress.{name}: {spec.name} reaches no destination {name!r} "
        f"(destinations: {', '.join(sorted(known)) or 'none'})"
        for name in settings.egress if name not in known
    ]
