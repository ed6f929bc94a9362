"""The network settings of `kubernetes:` (the edge's source CIDRs, DNS, the cluster's networks, Cilium's
API entity, closing a destination): their defaults, and every bad value refused by its full name."""

from __future__ import annotations

import pytest

def parse(data):
    from components.platforms.kubernetes import PLUGIN
    from components.validation import Problems, Section

    problems = Problems()
    return PLUGIN.parse_settings(Section(data, "error-tracking:kubernetes", problems), problems), problems.items


def test_the_network_settings_parse_with_their_defaults():
    from components.platforms.kubernetes.settings import PRIVATE_NETWORKS, DnsSettings

    defaults, problems = parse({})
    assert problems == [] and defaults.dns == DnsSettings("kube-system", (53,), ())
    assert defaults.cluster_networks == PRIVATE_NETWORKS and defaults.cilium_api_server is False
    assert defaults.edge_namespace is None and defaults.edge_cidrs == ()
    result, problems = parse({
        "ingress": {"controllerNamespace": "ingress-nginx", "sourceCidrs": ["10.0.0.0/20", "2001:db8::1"]},
        "dns": {"namespace": "openshift-dns", "ports": [5353, 5353.0], "addresses": ["169.254.20.10"]},
        "clusterNetworks": [], "ciliumApiServer": "true", "egress": {"integrations": []}})
    assert problems == []
    assert result.edge_namespace == "ingress-nginx" and result.edge_cidrs == ("10.0.0.0/20", "2001:db8::1/128")
    assert result.dns == DnsSettings("openshift-dns", (5353,), ("169.254.20.10/32",))
    assert result.cluster_networks == () and result.cilium_api_server is True and result.egress == {"integrations": ()}
    gateway, problems = parse({"gateway": {"name": "public", "namespace": "gw", "sourceCidrs": ["35.191.0.0/16"]}})
    assert problems == [] and gateway.edge_cidrs == ("35.191.0.0/16",) and gateway.edge_namespace is None


@pytest.mark.parametrize("data, setting", [
    ({"ingress": {"sourceCidrs": "10.0.0.0/8"}}, "ingress.sourceCidrs"),
    ({"ingress": {"sourceCidrs": []}}, "ingress.sourceCidrs"),
    ({"ingress": {"sourceCidrs": ["load-balancer"]}}, "ingress.sourceCidrs"),
    ({"gateway": {"name": "g", "namespace": "gw", "sourceCidrs": ["10.0.0.0/33"]}}, "gateway.sourceCidrs"),
    ({"dns": {"namespace": "Open Shift"}}, "dns.namespace"),
    ({"dns": {"ports": []}}, "dns.ports"),
    ({"dns": {"ports": ["53"]}}, "dns.ports"),
    ({"dns": {"ports": [70000]}}, "dns.ports"),
    ({"dns": {"ports": [True]}}, "dns.ports"),
    ({"dns": {"addresses": "169.254.20.10"}}, "dns.addresses"),
    ({"dns": {"port": 5353}}, "dns.port"),
    ({"dns": "openshift"}, "dns"),
    ({"clusterNetworks": ["pods"]}, "clusterNetworks"),
    ({"clusterNetworks": "10.0.0.0/8"}, "clusterNetworks"),
    ({"ciliumApiServer": "yes"}, "ciliumApiServer"),
    ({"egress": {"mail": "none"}}, "egress.mail"),
])
def test_bad_network_settings_are_refused_by_their_full_name(data, setting):
    _, problems = parse(data)
    assert [p for p in problems if p.startswith(f"error-tracking:kubernetes.{setting}:")], problems
