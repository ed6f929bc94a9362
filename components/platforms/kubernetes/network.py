"""A closed namespace: deny all traffic, then allow each workload exactly what the app declares.

Reachability comes from the description, never from start order: a workload may reach the
services it `connects_to` on their ports, the cluster's DNS (`kubernetes.dns`), and each of its
`egress` destinations on the declared ports at the addresses the operator configured
(`kubernetes.egress.<name>`; without them anywhere but link-local, and a public destination also
not the cluster's networks: addresses.py). A service accepts only the workloads that connect to it;
the entrypoint also accepts the edge (the ingress controller's or the Gateway's namespace, and the
source CIDRs of load balancers that send from outside any pod). Jobs and CronJobs get their own
policies like every other pod.

Two things the cluster runs in the namespace need a way in too: cert-manager's HTTP-01 solver
pods, reached by the edge while a certificate is issued (`ingress.clusterIssuer`), and, on Cilium,
the API server, which ipBlocks do not reach there (`ciliumApiServer`: a CiliumNetworkPolicy).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import addresses
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.settings import API_SERVER, KubernetesSettings
from components.spec import Service, Task, Workload

# What a NodeLocal DNSCache or a cloud resolver at an address (`dns.addresses`) answers on.
DNS_PORT = 53
# The API server, for reporting tasks that write their report into a Secret. Policies see the
# port after the Service's DNAT, so the server's own port counts: 443 on managed clusters, 6443
# for kubeadm, k3s and kind, 16443 for MicroK8s (its default kube-apiserver --secure-port).
API_SERVER_PORTS = (443, 6443, 16443)
# cert-manager's HTTP-01 solver pods: labelled so (pkg/apis/acme/v1 SolverIdentificationLabelKey,
# set to "true" in pkg/issuer/acme/http/pod.go) and serving on 8089 (acmeSolverListenPort).
SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
SOLVER_PORT = 8089
SOLVER = "acme-http01-solver"


def component_policy(ctx: Context, component: str, ingress: list, egress: list,
                     *needs: Optional[pulumi.Resource]) -> k8s.networking.v1.NetworkPolicy:
    """A component's own policy, both directions over its pods: every component's is named and
    selected alike, so the default deny is lifted only where one of these says so."""
    return k8s.networking.v1.NetworkPolicy(
        f"{ctx.name}-{component}-netpol",
        metadata=ctx.meta(f"{component}-traffic", component),
        spec={
            "pod_selector": {"match_labels": ctx.selector(component)},
            "policy_types": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
        opts=ctx.opts(*needs),
    )


def declare(ctx: Context) -> None:
    k8s.networking.v1.NetworkPolicy(
        f"{ctx.name}-default-deny",
        metadata=ctx.meta("default-deny", "network"),
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=ctx.opts(),
    )
    api_entity = ctx.api_policy = _cilium_api_server(ctx)
    for w in ctx.spec.workloads():
        if w.beside is not None:
            continue  # in its service's pods: that service's policy covers it (_egress)
        component = ctx.component(w)
        # A workload waits for its policy; an API client's waits for the Cilium one too.
        ctx.policies[w.name] = component_policy(ctx, component, _ingress(ctx, w), _egress(ctx, w),
                                                api_entity if api_entity and _calls_api(w) else None)
    solver = _solver(ctx)
    if solver is not None:
        ctx.edge_policies.append(solver)


def dns_rules(settings: KubernetesSettings) -> list[dict[str, Any]]:
    """Egress to the cluster's resolver: its pods' namespace and ports, and any address it answers at."""
    dns = settings.dns
    rules = [{
        "to": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": dns.namespace}}}],
        "ports": [*_ports(dns.ports, "UDP"), *_ports(dns.ports)],
    }]
    if dns.addresses:
        rules.append({"to": addresses.ip_blocks(dns.addresses),
                      "ports": [*_ports([DNS_PORT], "UDP"), *_ports([DNS_PORT])]})
    return rules


def edge_sources(settings: KubernetesSettings) -> list[dict[str, Any]]:
    """Where public traffic comes from: the edge's namespace and the load balancers' addresses."""
    sources: list[dict[str, Any]] = []
    if settings.edge_namespace:
        sources.append({"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": settings.edge_namespace}}})
    sources.extend(addresses.ip_blocks(settings.edge_cidrs))
    return sources


def _pods(ctx: Context, names) -> dict[str, Any]:
    return {"pod_selector": _selecting(ctx, names)}


def _selecting(ctx: Context, names) -> dict[str, Any]:
    return {
        "match_labels": {"app.kubernetes.io/name": ctx.spec.name, "app.kubernetes.io/instance": ctx.instance},
        "match_expressions": [{
            "key": "app.kubernetes.io/component", "operator": "In",
            "values": sorted(ctx.component(n) for n in names),
        }],
    }


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
    sources = edge_sources(ctx.settings)
    # Without a named edge nothing outside the app gets in (the stack refuses that: checks.py).
    if w.name == entry.service and sources:
        rules.append({"from_": sources, "ports": _ports([entry.port])})
    return rules


def api_client_egress(settings: KubernetesSettings) -> list[dict[str, Any]]:
    """What a pod that only talks to the API server may reach: DNS, and the API server where the
    operator says it is (`egress.kubernetes-api`, anywhere but link-local by default)."""
    rules = dns_rules(settings)
    peers = addresses.destination(settings, API_SERVER, False)
    if peers is not None:
        rules.append({"to": peers, "ports": _ports(API_SERVER_PORTS)})
    return rules


def _calls_api(w: Workload) -> bool:
    return bool((isinstance(w, Task) and w.reports) or w.watches or w.state_object)


def _egress(ctx: Context, w: Workload) -> list[dict[str, Any]]:
    rules = dns_rules(ctx.settings)
    helpers = ctx.spec.helpers_of(w.name) if isinstance(w, Service) else ()
    for peer in dict.fromkeys(p for one in (w, *helpers) for p in one.connects_to):
        ports = [p.number for p in ctx.spec.service(peer).ports]
        if ports:
            rules.append({"to": [_pods(ctx, [peer])], "ports": _ports(ports)})
    destinations = [(e.name, e.ports, e.public) for one in (w, *helpers) for e in one.egress]
    if _calls_api(w):
        destinations.append((API_SERVER, API_SERVER_PORTS, False))
    for name, ports, public in dict.fromkeys(destinations):
        peers = addresses.destination(ctx.settings, name, public)
        if peers is not None:
            rules.append({"to": peers, "ports": _ports(ports)})
    return rules


def _solver(ctx: Context) -> Optional[k8s.networking.v1.NetworkPolicy]:
    """The edge may reach cert-manager's HTTP-01 solver pods while it issues the Ingress's certificate."""
    sources = edge_sources(ctx.settings)
    if ctx.settings.gateway or not ctx.settings.ingress.cluster_issuer or not sources:
        return None
    return k8s.networking.v1.NetworkPolicy(
        f"{ctx.name}-{SOLVER}-netpol",
        metadata=ctx.meta(f"{SOLVER}-traffic", SOLVER),
        spec={
            "pod_selector": {"match_labels": {SOLVER_LABEL: "true"}},
            # Egress stays denied (default-deny): the solver only answers.
            "policy_types": ["Ingress"],
            "ingress": [{"from_": sources, "ports": _ports([SOLVER_PORT])}],
        },
        opts=ctx.opts(),
    )


def _cilium_api_server(ctx: Context) -> Optional[pulumi.Resource]:
    """A cilium.io/v2 CiliumNetworkPolicy: the API clients may reach the kube-apiserver entity, which
    Cilium gives the API server's addresses wherever it runs (an ipBlock never matches a node's)."""
    clients = [*(w.name for w in ctx.spec.workloads() if _calls_api(w)), *(stop.name for stop in ctx.spec.stops)]
    if not ctx.settings.cilium_api_server or not clients:
        return None
    selector = _selecting(ctx, clients)
    return k8s.apiextensions.CustomResource(
        f"{ctx.name}-kube-apiserver-cnp",
        api_version="cilium.io/v2",
        kind="CiliumNetworkPolicy",
        metadata=ctx.meta("api-clients-to-kube-apiserver", "network"),
        # The CRD's own field names (no SDK type translates them).
        spec={
            "endpointSelector": {"matchLabels": selector["match_labels"],
                                 "matchExpressions": selector["match_expressions"]},
            "egress": [{
                "toEntities": ["kube-apiserver"],
                "toPorts": [{"ports": [{"port": str(p), "protocol": "TCP"} for p in API_SERVER_PORTS]}],
            }],
        },
        opts=ctx.opts(),
    )
