"""The network model (tests/network_model.py) on small cases whose answers the Kubernetes
documentation gives: default deny, policies adding up, both selectors in one peer, ipBlocks with
excepts as Calico and Cilium apply them, named ports and port ranges, Cilium's own policies."""

from __future__ import annotations

from tests.network_model import CALICO, CILIUM, CILIUM_NODES, Cluster, Endpoint, Flow

A = Endpoint("ns/a", "10.0.0.1", "ns", {"app": "a"}, {"http": (8080, "TCP")})
B = Endpoint("ns/b", "10.0.0.2", "ns", {"app": "b"}, {"http": (8080, "TCP")})
C = Endpoint("other/c", "10.0.1.3", "other", {"app": "a"})
OUT = Endpoint("out", "198.51.100.1")
NODE = Endpoint("node", "192.168.0.1", node=True)
DENY = ("ns", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def test_the_model_denies_by_default_and_adds_policies_up():
    world = [A, B, C, OUT]
    assert Cluster(world, [], CALICO).allows(Flow(A, B, 8080))  # nothing isolates: open
    assert not Cluster(world, [DENY], CALICO).allows(Flow(A, B, 8080))
    egress = ("ns", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
                     "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 8080}]}]})
    ingress = ("ns", {"podSelector": {"matchLabels": {"app": "b"}},
                      "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})
    assert not Cluster(world, [DENY, egress], CALICO).allows(Flow(A, B, 8080))  # b's ingress still denied
    both = Cluster(world, [DENY, egress, ingress], CALICO)
    assert both.allows(Flow(A, B, 8080)) and not both.allows(Flow(A, B, 9090)) and not both.allows(Flow(B, A, 8080))
    # policyTypes absent: Ingress only, so a's egress is not isolated by `ingress` alone
    assert Cluster(world, [ingress], CALICO).allows(Flow(A, OUT, 443))


def test_the_model_tells_one_peer_with_both_selectors_from_two_peers():
    together = ("ns", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
         "podSelector": {"matchLabels": {"app": "x"}}}]}]})
    apart = ("ns", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}},
        {"podSelector": {"matchLabels": {"app": "x"}}}]}]})
    assert not Cluster([B, C], [together], CALICO).allows(Flow(C, B, 8080))  # c is app=a, not app=x
    assert Cluster([B, C], [apart], CALICO).allows(Flow(C, B, 8080))  # any pod of `other`
    own_namespace_only = ("ns", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
                                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})
    world = Cluster([A, B, C], [own_namespace_only], CALICO)
    assert world.allows(Flow(A, B, 8080)) and not world.allows(Flow(C, B, 8080))


def test_the_model_reads_ip_blocks_excepts_named_ports_and_ranges_as_each_cni_does():
    rule = ("ns", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.1.0/24"]}}], "ports": [{"port": 443}]},
        {"to": [{"podSelector": {}}], "ports": [{"port": "http"}]},
        {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}], "ports": [{"port": 20, "endPort": 30}]}]})
    calico, cilium = Cluster([A, B, C, OUT, NODE], [rule], CALICO, extra_ports=[(22, "TCP")]), \
        Cluster([A, B, C, OUT, NODE], [rule], CILIUM, extra_ports=[(22, "TCP")])
    for world in (calico, cilium):
        assert world.allows(Flow(A, OUT, 443)) and not world.allows(Flow(A, OUT, 80))
        assert not world.allows(Flow(A, C, 443))  # excepted (and on Cilium no pod is an ipBlock's)
        assert world.allows(Flow(A, B, 8080))  # named port of the pod at the far end
    assert calico.allows(Flow(A, B, 443)) and not cilium.allows(Flow(A, B, 443))  # a pod address
    assert calico.allows(Flow(A, NODE, 22)) and not cilium.allows(Flow(A, NODE, 22))  # a node's, in range
    assert Cluster([A, NODE], [rule], CILIUM_NODES, extra_ports=[(22, "TCP")]).allows(Flow(A, NODE, 22))


def test_the_model_adds_ciliums_own_policies_only_on_cilium():
    api = Endpoint("api", "192.168.0.9", node=True, entities=frozenset({"kube-apiserver"}))
    to_api = ("ns", {"endpointSelector": {"matchLabels": {"app": "a"}},
                     "egress": [{"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": "6443"}]}]}]})
    assert Cluster([A, api], [DENY], CILIUM, [to_api]).allows(Flow(A, api, 6443))
    assert not Cluster([A, api], [DENY], CALICO, [to_api]).allows(Flow(A, api, 6443))
