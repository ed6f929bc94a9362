"""A small model of how a cluster enforces network policies, to ask which flows a real cluster
would let through the policies the program declares.

What it assumes, each from the Kubernetes documentation of NetworkPolicy
(kubernetes.io/docs/concepts/services-networking/network-policies/) unless said otherwise:

1. Isolation. A pod is isolated for ingress (egress) when some NetworkPolicy in its namespace
   selects it (`podSelector`; `{}` selects every pod) and has Ingress (Egress) in `policyTypes`.
   Without `policyTypes` a policy is of type Ingress, and also Egress when it has egress rules.
   A pod that nothing isolates allows everything in that direction.
2. Union. An isolated pod allows what at least one rule of at least one policy selecting it
   allows: policies add up, their order does not matter, and none can deny what another allows.
3. Both ends. A connection is allowed when the source's egress allows it and the destination's
   ingress allows it. Replies are allowed (policies are stateful). Addresses that are not pods
   (the internet, a node, the API server, a load balancer) have no policies: only the pod end counts.
4. Peers. `podSelector` alone: pods of the policy's own namespace; `namespaceSelector` alone: every
   pod of the namespaces it selects; both in one peer: the pods matching `podSelector` in those
   namespaces. Every namespace carries the label kubernetes.io/metadata.name=<its name>. A rule
   without `from`/`to` matches every peer; an empty rule list matches nothing.
5. ipBlock. The addresses in `cidr` but in none of `except`. Whether an ipBlock matches pods and
   nodes is left to the network plugin ("should be cluster-external IPs"), so the model runs the
   plugins it names in `CNIS`: Calico matches every address, pods' and nodes' included; Cilium
   matches only addresses outside the cluster, neither pods nor nodes (cilium/cilium#9209 for pods,
   #14724 and #20550 for nodes) unless configured with policyCIDRMatchMode=nodes. An API server
   outside the cluster (a managed control plane) is such an outside address.
6. Ports. A rule's `ports` (absent or empty: every port); a port is a number, or the name of a
   container port of the pod at the far end (egress) or of the selected pod (ingress); `endPort`
   makes a range; `protocol` defaults to TCP.
7. Services. Policies see a Service's traffic after its translation, so a flow to a Service is a
   flow to one of its pods on the target port (what kube-proxy and Cilium do; the docs leave the
   order undefined). DNS to the kube-dns Service is a flow to a CoreDNS pod on the pod's port.
8. Cilium's own policies (cilium.io/v2 CiliumNetworkPolicy) add up with NetworkPolicies on Cilium:
   `endpointSelector` selects pods of its namespace, `toEntities` matches the addresses Cilium
   gives that entity (kube-apiserver: the API server wherever it runs), `toPorts` as in 6.

`allows` answers for any flow; `allowed_flows` lists the allowed ones of a finite world: the pods and
addresses the test lays out, on the ports any of them listens on or any policy names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Optional


@dataclass(frozen=True)
class Cni:
    """How a network plugin applies ipBlocks (assumption 5) and whether it reads Cilium's policies."""

    name: str
    ip_block_matches_pods: bool
    ip_block_matches_nodes: bool
    cilium_policies: bool = False


CALICO = Cni("calico", ip_block_matches_pods=True, ip_block_matches_nodes=True)
CILIUM = Cni("cilium", ip_block_matches_pods=False, ip_block_matches_nodes=False, cilium_policies=True)
CILIUM_NODES = Cni("cilium, policyCIDRMatchMode=nodes", ip_block_matches_pods=False, ip_block_matches_nodes=True,
                   cilium_policies=True)
CNIS = (CALICO, CILIUM)


@dataclass(frozen=True)
class Endpoint:
    """A pod (it has a namespace) or an address outside any pod."""

    name: str
    ip: str
    namespace: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    # The pod's named container ports: name -> (number, protocol).
    ports: Mapping[str, tuple[int, str]] = field(default_factory=dict, hash=False, compare=False)
    # A node's own address (host network): the API server on kubeadm, MicroK8s or k3s, NodeLocal DNSCache.
    node: bool = False
    # The Cilium entities this address belongs to (kube-apiserver).
    entities: frozenset[str] = frozenset()

    @property
    def pod(self) -> bool:
        return self.namespace is not None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Flow:
    source: Endpoint
    destination: Endpoint
    port: int
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}:{self.port}/{self.protocol}"


class Cluster:
    """The endpoints of one cluster, its namespaces' policies, and the plugin that enforces them."""

    def __init__(self, endpoints: Iterable[Endpoint], policies: Iterable[tuple[str, dict]], cni: Cni,
                 cilium_policies: Iterable[tuple[str, dict]] = (), extra_ports: Iterable[tuple[int, str]] = ()):
        self.endpoints = list(endpoints)
        self.cni = cni
        self.policies = [(namespace, spec) for namespace, spec in policies]
        self.cilium_policies = [(namespace, spec) for namespace, spec in cilium_policies] if cni.cilium_policies else []
        self.ports = sorted(self._ports(extra_ports))
        self._egress = {e: self._allowed(e, "Egress") for e in self.endpoints}
        self._ingress = {e: self._allowed(e, "Ingress") for e in self.endpoints}

    def allows(self, flow: Flow) -> bool:
        """Assumption 3: the source's egress and the destination's ingress both allow it."""
        key = (flow.port, flow.protocol)
        out, into = self._egress[flow.source], self._ingress[flow.destination]
        return (out is None or _covers(out.get(flow.destination, ()), key)) and \
            (into is None or _covers(into.get(flow.source, ()), key))

    def allowed_flows(self, involving: str) -> set[Flow]:
        """Every allowed flow of this world (its ports) with a pod of namespace `involving` at one end."""
        return {flow for s in self.endpoints for d in self.endpoints
                if s != d and involving in (s.namespace, d.namespace) and (self._egress[s] is None or d in self._egress[s])
                for port, protocol in self.ports if self.allows(flow := Flow(s, d, port, protocol))}

    # --- evaluation ------------------------------------------------------------------------------

    def _allowed(self, pod: Endpoint, direction: str) -> Optional[dict[Endpoint, set[tuple[int, int, str]]]]:
        """What `pod` allows in `direction`: far end -> port ranges (low, high, protocol, "*" for any);
        None: not isolated (1, 2)."""
        if not pod.pod:
            return None
        isolated, allowed = False, {}
        for namespace, spec in self.policies:
            if namespace != pod.namespace or not _selects(spec.get("podSelector", {}), pod.labels):
                continue
            if direction not in _types(spec):
                continue
            isolated = True
            for rule in spec.get("egress" if direction == "Egress" else "ingress") or []:
                peers = rule.get("to" if direction == "Egress" else "from")
                for far in self.endpoints:
                    if far != pod and (peers is None or not peers or any(self._peer(p, namespace, far) for p in peers)):
                        port_owner = far if direction == "Egress" else pod
                        allowed.setdefault(far, set()).update(self._rule_ports(rule.get("ports"), port_owner))
        for namespace, spec in self.cilium_policies:
            if namespace != pod.namespace or not _selects(spec.get("endpointSelector", {}), pod.labels):
                continue
            for rule in spec.get("egress" if direction == "Egress" else "ingress") or []:
                isolated = True
                entities = set(rule.get("toEntities" if direction == "Egress" else "fromEntities", []))
                ports = [{"port": int(p["port"]), "protocol": p.get("protocol", "TCP")}
                         for to_ports in rule.get("toPorts", []) for p in to_ports.get("ports", [])]
                for far in self.endpoints:
                    if far != pod and entities & far.entities:
                        allowed.setdefault(far, set()).update(self._rule_ports(ports, far))
        return allowed if isolated else None

    def _peer(self, peer: dict, namespace: str, far: Endpoint) -> bool:
        """Assumptions 4 and 5: whether one `from`/`to` entry matches the endpoint at the far end."""
        if "ipBlock" in peer:
            if (far.pod and not self.cni.ip_block_matches_pods) or (far.node and not self.cni.ip_block_matches_nodes):
                return False
            block = peer["ipBlock"]
            return _inside(far.ip, block["cidr"]) and not any(_inside(far.ip, c) for c in block.get("except", []))
        if not far.pod:
            return False
        if "namespaceSelector" in peer:
            names = {"kubernetes.io/metadata.name": far.namespace}
            if not _selects(peer["namespaceSelector"], names):
                return False
        elif far.namespace != namespace:
            return False
        return _selects(peer.get("podSelector", {}), far.labels)

    @staticmethod
    def _rule_ports(ports: Optional[list[dict]], owner: Endpoint) -> set[tuple[int, int, str]]:
        """Assumption 6: the port ranges a rule's `ports` allow, names resolved against `owner`."""
        if not ports:
            return {(0, 65535, "*")}
        result = set()
        for entry in ports:
            protocol = entry.get("protocol", "TCP")
            port = entry.get("port")
            if port is None:
                result.add((0, 65535, protocol))
                continue
            if isinstance(port, str) and not port.isdigit():
                named = owner.ports.get(port)
                if named is None or named[1] != protocol:
                    continue
                port = named[0]
            result.add((int(port), int(entry.get("endPort", port)), protocol))
        return result

    def _ports(self, extra: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        found = set(extra)
        found |= {number_protocol for e in self.endpoints for number_protocol in e.ports.values()}
        for _, spec in [*self.policies, *self.cilium_policies]:
            for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
                for entry in rule.get("ports") or []:
                    if isinstance(entry.get("port"), int):
                        found.add((entry["port"], entry.get("protocol", "TCP")))
                for to_ports in rule.get("toPorts", []):
                    found |= {(int(p["port"]), p.get("protocol", "TCP")) for p in to_ports.get("ports", [])}
        return found


def _covers(ranges, key: tuple[int, str]) -> bool:
    port, protocol = key
    return any(low <= port <= high and allowed in ("*", protocol) for low, high, allowed in ranges)


@lru_cache(maxsize=None)
def _inside(address: str, cidr: str) -> bool:
    ip, network = ipaddress.ip_address(address), ipaddress.ip_network(cidr)
    return ip.version == network.version and ip in network


def _types(spec: dict) -> set[str]:
    """Assumption 1: a policy's types, with the documented default."""
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _selects(selector: dict[str, Any], labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions, ANDed; `{}` selects everything)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True
