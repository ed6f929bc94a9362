"""Kubernetes settings that must match the app's description, checked before any resource."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from components.platforms.kubernetes.naming import dns_label
from components.platforms.kubernetes.settings import API_SERVER, KubernetesSettings
from components.platforms.kubernetes.storage import across_nodes
from components.spec import AppSpec, Task

PREFIX = "error-tracking:kubernetes"


def check(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    problems = []
    volumes = {dns_label(v.name, "volume"): v for v in spec.volumes}
    known = set(volumes)
    for key, size in settings.volume_sizes.items():
        if key not in known:
            problems.append(f"{PREFIX}.volumeSizes.{key}: {spec.name} has no volume {key!r} "
                            f"(volumes: {', '.join(sorted(known))})")
        elif volumes[key].minimum_reason and size < volumes[key].size_gb:
            # The app computed what the volume must hold: a smaller disk fills and stops the service.
            problems.append(f"{PREFIX}.volumeSizes.{key}: must be at least {volumes[key].size_gb} GiB, "
                            f"{volumes[key].minimum_reason}; got {size}")
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
    problems.extend(_edge(spec, settings))
    problems.extend(_egress(spec, settings))
    problems.extend(_shared_claims(spec, settings))
    if spec.builds:
        problems.append(f"error-tracking:platform: kubernetes builds no images, and {spec.name} asked for "
                        f"{', '.join(b.reference for b in spec.builds)}; give {spec.name} a pushed image instead")
    if spec.trusts_own_network:
        problems.append(
            f"error-tracking:{spec.trusts_own_network}: is required on Kubernetes: a pod's own network is a /32 "
            f"there, so {spec.name} would trust no peer (Sentry then refuses Symbolicator's system token); set "
            f"the cluster's pod CIDR, e.g. `pulumi config set --path '{spec.trusts_own_network}[0]' 10.1.0.0/16` "
            "(MicroK8s 10.1.0.0/16; k3s and RKE2 10.42.0.0/16; kind and Flannel 10.244.0.0/16; EKS with the VPC "
            "CNI: the VPC's CIDR; `kubectl get nodes -o jsonpath='{.items[*].spec.podCIDR}'` shows each node's "
            "range on most clusters)"
        )
    return problems


def url_problems(url: str, settings: KubernetesSettings) -> list[str]:
    """The public URL as an Ingress or HTTPRoute serves it: a DNS name, TLS settings only for https."""
    parts = urlsplit(url)
    problems = []
    try:
        ipaddress.ip_address((parts.hostname or "").strip("[]"))
        problems.append("error-tracking:url: has an IP address as its host, which an Ingress or HTTPRoute cannot serve "
                        "on Kubernetes: use a DNS name that resolves to the ingress controller or Gateway")
    except ValueError:
        pass
    if parts.scheme == "http":
        tls = {"clusterIssuer": settings.ingress.cluster_issuer, "tlsSecret": settings.ingress.tls_secret}
        for key, value in tls.items():
            if value:
                problems.append(f"{PREFIX}.ingress.{key}: is not used: the url is http://, so the Ingress serves no "
                                "TLS; use an https:// url or remove it")
    return problems


def _edge(spec: AppSpec, settings: KubernetesSettings) -> list[str]:
    """The entrypoint admits only the edge the operator names: without one it would have to admit
    every namespace (any pod of the cluster could bypass the ingress) or nothing at all."""
    if settings.edge_namespace or settings.edge_cidrs:
        return []
    key = "gateway" if settings.gateway else "ingress"
    pods = "the Gateway's proxy pods" if settings.gateway else "the ingress controller's pods"
    return [
        f"{PREFIX}.{key}.controllerNamespace: is required (or {key}.sourceCidrs): the namespace of {pods} "
        f"(ingress-nginx, traefik, kube-system...), the only namespace allowed to reach {spec.name}'s entrypoint "
        f"({spec.entrypoint.service}, port {spec.entrypoint.port}); for a load balancer that sends from outside any "
        "pod (GKE Gateway, AWS Load Balancer Controller in IP mode, a hostNetwork controller) list the addresses it "
        f"sends from in {key}.sourceCidrs instead (README: Kubernetes)"
    ]


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
    if any((isinstance(w, Task) and w.reports) or w.watches or w.state_object for w in spec.workloads()):
        known.add(API_SERVER)
    problems = [
        f"{PREFIX}.egress.{name}: {spec.name} reaches no destination {name!r} "
        f"(destinations: {', '.join(sorted(known)) or 'none'})"
        for name in settings.egress if name not in known
    ]
    if settings.egress.get(API_SERVER) == ():
        problems.append(f"{PREFIX}.egress.{API_SERVER}: cannot be closed: {spec.name}'s bootstrap writes its "
                        "report through the API server; give the API server's addresses instead")
    return problems
