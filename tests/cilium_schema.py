"""What Cilium's CiliumNetworkPolicy CRD accepts, for the one object the program may declare."""

from __future__ import annotations

import re

# cilium.io/v2 CiliumNetworkPolicy, from the CRD's schema (cilium/cilium
# pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml, as published in
# datreeio/CRDs-catalog cilium.io/ciliumnetworkpolicy_v2.json at 0bdb1704): the fields each object
# may have (a strict subset of the CRD's), the enums and patterns of the ones set here.
CNP_FIELDS = {
    "spec": {"description", "egress", "egressDeny", "endpointSelector", "ingress", "ingressDeny", "nodeSelector"},
    "endpointSelector": {"matchExpressions", "matchLabels"},
    "matchExpressions[]": {"key", "operator", "values"},
    "egress[]": {"authentication", "icmps", "toCIDR", "toCIDRSet", "toEndpoints", "toEntities", "toFQDNs",
                 "toGroups", "toNodes", "toPorts", "toRequires", "toServices"},
    "toPorts[]": {"listener", "originatingTLS", "ports", "rules", "serverNames", "terminatingTLS"},
    "ports[]": {"endPort", "port", "protocol"},
}
CNP_ENTITIES = {"all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node",
                "health", "none", "kube-apiserver"}
CNP_PROTOCOLS = {"TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"}
CNP_PORT = re.compile(r"^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
                      r"|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def cilium_problems(manifest: dict) -> list[str]:
    """What the CiliumNetworkPolicy CRD (above) would refuse in `manifest`."""
    problems = []

    def fields(where, value):
        problems.extend(f"{where}: unknown field {k}" for k in set(value) - CNP_FIELDS[where])

    if (manifest.get("apiVersion"), manifest.get("kind")) != ("cilium.io/v2", "CiliumNetworkPolicy"):
        problems.append("not a cilium.io/v2 CiliumNetworkPolicy")
    spec = manifest["spec"]
    fields("spec", spec)
    # oneOf endpointSelector | nodeSelector; anyOf ingress | ingressDeny | egress | egressDeny
    if ("endpointSelector" in spec) == ("nodeSelector" in spec):
        problems.append("spec: exactly one of endpointSelector and nodeSelector")
    if not {"ingress", "ingressDeny", "egress", "egressDeny"} & set(spec):
        problems.append("spec: one of ingress, ingressDeny, egress, egressDeny is required")
    selector = spec.get("endpointSelector", {})
    fields("endpointSelector", selector)
    for value in selector.get("matchLabels", {}).values():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            problems.append(f"matchLabels value {value!r}")
    for expression in selector.get("matchExpressions", []):
        fields("matchExpressions[]", expression)
        if expression.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist") or "key" not in expression:
            problems.append(f"matchExpressions {expression}")
    for rule in spec.get("egress", []):
        fields("egress[]", rule)
        problems.extend(f"toEntities: {e!r}" for e in rule.get("toEntities", []) if e not in CNP_ENTITIES)
        for to_ports in rule.get("toPorts", []):
            fields("toPorts[]", to_ports)
            if len(to_ports.get("ports", [])) > 40:
                problems.append("toPorts[].ports: at most 40")
            for port in to_ports.get("ports", []):
                fields("ports[]", port)
                if not isinstance(port.get("port"), str) or not CNP_PORT.match(port["port"]):
                    problems.append(f"port {port.get('port')!r} (a string)")
                if port.get("protocol", "ANY") not in CNP_PROTOCOLS:
                    problems.append(f"protocol {port.get('protocol')!r}")
    return problems
