"""Kubernetes settings that must match the app's description, checked before any resource."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from components.platforms.kubernetes.naming import dns_label
from components.platforms.kubernetes.settings import API_SERVER, KubernetesSettings
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
