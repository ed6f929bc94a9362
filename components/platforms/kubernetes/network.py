"""A closed namespace: deny all traffic, then allow each workload exactly what the app declares.

Reachability comes from the description, never from start order: a workload may reach the
services it `connects_to` on their ports, DNS in kube-system, and each of its `egress`
destinations on the declared ports at the addresses the operator configured
(`kubernetes.egress.<name>`, anywhere by default: NetworkPolicy has no host names). A service
accepts only the workloads that connect to it; the entrypoint also accepts the ingress
controller or the Gateway's proxies. Jobs and CronJobs get their own policies like every other pod.
"""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.settings import API_SERVER, EVERYWHERE
from components.spec import Service, Task, Workload

DNS_PORT = 53
# The API server, for reporting tasks that write their report into a Secret. Policies see the
# port after the Service's DNAT, so the server's own port counts: 443 on managed clusters, 6443
# for kubeadm, k3s and kind, 16443 for MicroK8s (its default kube-apiserver --secure-port).
API_SERVER_PORTS = (443, 6443, 16443)


def declare(ctx: Context) -> None:
    k8s.networking.v1.NetworkPolicy(
        f"{ctx.name}-default-deny",
        metadata=ctx.meta("default-deny", "network"),
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=ctx.opts(),
    )
    for w in ctx.spec.workloads():
        if w.beside is not None:
            continue  # in its service's pods: that service's policy covers it (_egress)
        component = ctx.component(w)
        ctx.policies[w.name] = k8s.networking.v1.NetworkPolicy(
            f"{ctx.name}-{component}-netpol",
            metadata=ctx.meta(f"{component}-traffic", component),
            spec={
                "pod_selector": {"match_labels": ctx.selector(component)},
                "policy_types": ["Ingress", "Egress"],
                "ingress": _ingress(ctx, w),
                "egress": _egress(ctx, w),
            },
            opts=ctx.opts(),
        )


def _pods(ctx: Context, names) -> dict[str, Any]:
    return {"pod_selector": {
        "match_labels": {"app.kubernetes.io/name": ctx.spec.name, "app.kubernetes.io/instance": ctx.instance},
        "match_expressions": [{
            "key": "app.kubernetes.io/component", "operator": "In",
            "values": sorted(ctx.component(n) for n in names),
        }],
    }}


def _ports(numbers, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": n} for n in numbers]


def _ingress(ctx: Context, w: Workload) -> list[dict[str, Any]]:
    if not isinstance(w, Service) or not w.ports:
        return []
    rules = []
    # A helper's traffic is its pod's: the pods of the service it runs beside.
    clients = sorted({ctx.spec.workload(c).beside or c for c in ctx.spec.clients_of(w.name)})
    if clients:
        rules.append({"from_": [_pods(ctx, clients)], "ports": _ports(p.number for p in w.ports)})
    entry = ctx.spec.entrypoint
    if w.name == entry.service:
        controller = ctx.settings.edge_namespace
        source: dict[str, Any] = {"namespace_selector": {}}
        if controller:
            source = {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": controller}}}
        rules.append({"from_": [source], "ports": _ports([entry.port])})
    return rules


def _egress(ctx: Context, w: Workload) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{
        "to": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}}}],
        "ports": [*_ports([DNS_PORT], "UDP"), *_ports([DNS_PORT])],
    }]
    helpers = ctx.spec.helpers_of(w.name) if isinstance(w, Service) else ()
    for peer in dict.fromkeys(p for one in (w, *helpers) for p in one.connects_to):
        ports = [p.number for p in ctx.spec.service(peer).ports]
        if ports:
            rules.append({"to": [_pods(ctx, [peer])], "ports": _ports(ports)})
    destinations = [(e.name, e.ports) for one in (w, *helpers) for e in one.egress]
    if (isinstance(w, Task) and w.reports) or w.watches or w.state_object:
        destinations.append((API_SERVER, API_SERVER_PORTS))
    for name, ports in destinations:
        cidrs = ctx.settings.egress.get(name, EVERYWHERE)
        rules.append({"to": [{"ip_block": {"cidr": c}} for c in cidrs], "ports": _ports(ports)})
    return rules
