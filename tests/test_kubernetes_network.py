"""A closed namespace and the public entry: default-deny, one allow policy per workload built from
`connects_to` and `egress` (never from start order), the cluster's DNS, the edge (controller
namespace or load balancer addresses), cert-manager's HTTP-01 solver, the API server on Cilium,
and the Ingress with its body-size limit. What a cluster makes of all of it together:
tests/test_network_model.py."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import pytest

from components.spec import Egress
from tests.cilium_schema import cilium_problems
from tests.k8s_helpers import (
    INSTANCE,
    SCHEMA_VERSIONS,
    deploy,
    deployed,
    policy,
    sample_spec,
    strict_problem,
    with_workload,
    workloads,
)

# Anywhere but link-local (the metadata endpoint 169.254.169.254) and EC2's IPv6 metadata endpoint.
ANYWHERE = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}},
            {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128", "fe80::/10"]}}]
# ...and, for a public destination, not the private ranges either (kubernetes.clusterNetworks' default).
PUBLIC = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16",
                                                        "172.16.0.0/12", "192.168.0.0/16"]}},
          {"ipBlock": {"cidr": "::/0", "except": ["fc00::/7", "fe80::/10"]}}]
EDGE = {"ingress": {"controllerNamespace": "ingress-nginx"}}
DNS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
API_PORTS = [443, 6443, 16443]


def pods(*components: str) -> dict:
    return {"podSelector": {
        "matchLabels": {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": INSTANCE},
        "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": sorted(components)}],
    }}


def tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def pod_labels(workload) -> dict:
    spec = workload.inputs["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    return template["metadata"]["labels"]


def admitted(rules: list[dict]) -> set[str]:
    """The workloads of this app a policy's ingress rules admit."""
    return {name for rule in rules for peer in rule.get("from", []) if "podSelector" in peer
            for name in peer["podSelector"]["matchExpressions"][0]["values"]}


# --- default deny ------------------------------------------------------------------------------

def test_the_namespace_denies_all_traffic_of_every_pod_by_default():
    deny = deployed("default").one("NetworkPolicy", "default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("variant", ["default", "external-db"])
def test_every_workload_services_jobs_and_cronjobs_has_its_own_allow_policy(variant):
    result = deployed(variant)
    found = workloads(result)
    assert {"migrate", "bootstrap"} <= set(found)
    for name, workload in found.items():
        spec = policy(result, name)
        selected = spec["podSelector"]["matchLabels"]
        assert selected == {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": INSTANCE,
                            "app.kubernetes.io/component": name}, name
        assert selected.items() <= pod_labels(workload).items(), name  # it selects this workload's pods
        assert spec["policyTypes"] == ["Ingress", "Egress"], name
    allow = {p.object_name for p in result.of_kind("NetworkPolicy")} - {"default-deny"}
    assert allow == {f"{name}-traffic" for name in found}


# --- who may connect to whom -------------------------------------------------------------------

def test_a_service_admits_only_the_workloads_that_connect_to_it_not_those_that_wait_for_it():
    result = deployed("default")
    # migrate waits for valkey and bootstrap waits for web: neither talks to them
    assert "valkey" in sample_spec().task("migrate").depends_on and "web" in sample_spec().task("bootstrap").depends_on
    assert policy(result, "postgres")["ingress"] == [
        {"from": [pods("backup", "bootstrap", "migrate", "web", "worker")], "ports": tcp(5432)}]
    assert policy(result, "valkey")["ingress"] == [{"from": [pods("web", "worker")], "ports": tcp(6379)}]
    assert admitted(policy(result, "web")["ingress"]) == set()
    for name in ("worker", "migrate", "bootstrap", "backup"):
        assert policy(result, name)["ingress"] == [], name


def test_a_workload_reaches_its_peers_on_their_ports_only():
    result = deployed("default")

    def peers(name):
        return [r for r in policy(result, name)["egress"] if "podSelector" in r["to"][0]]

    assert peers("web") == [{"to": [pods("postgres")], "ports": tcp(5432)},
                            {"to": [pods("valkey")], "ports": tcp(6379)}]
    assert peers("migrate") == [{"to": [pods("postgres")], "ports": tcp(5432)}]  # not valkey
    assert peers("bootstrap") == [{"to": [pods("postgres")], "ports": tcp(5432)}]  # not web
    assert peers("postgres") == [] and peers("valkey") == []


@pytest.mark.parametrize("variant", ["default", "external-db"])
def test_every_workload_may_resolve_names_in_kube_system(variant):
    result = deployed(variant)
    for name in workloads(result):
        assert policy(result, name)["egress"][0] == DNS, name


def outside(result, name):
    return [r for r in policy(result, name)["egress"] if "ipBlock" in r["to"][0]]


def test_egress_destinations_on_their_ports_to_anywhere_but_link_local_by_default():
    result = deployed("default")
    assert outside(result, "web") == [{"to": ANYWHERE, "ports": tcp(587)}, {"to": ANYWHERE, "ports": tcp(80, 443)}]
    assert outside(result, "worker") == [{"to": ANYWHERE, "ports": tcp(587)}]
    assert outside(result, "backup") == [{"to": ANYWHERE, "ports": tcp(443)}]
    assert outside(result, "migrate") == [] and outside(result, "postgres") == []


def test_egress_destinations_go_to_the_configured_addresses():
    result = deployed("scaled")
    mail = [r for r in policy(result, "web")["egress"] if r["ports"] == tcp(587)]
    assert mail == [{"to": [{"ipBlock": {"cidr": "192.0.2.25/32"}}], "ports": tcp(587)}]
    internet = [r for r in policy(result, "web")["egress"] if r["ports"] == tcp(80, 443)]
    assert internet == [{"to": ANYWHERE, "ports": tcp(80, 443)}]  # not configured: anywhere


@pytest.mark.parametrize("variant, addresses", [
    ("default", ANYWHERE), ("scaled", [{"ipBlock": {"cidr": "10.0.0.1/32"}}])])
def test_only_the_reporting_job_reaches_the_api_server(variant, addresses):
    result = deployed(variant)
    for name in workloads(result):
        api = [r for r in policy(result, name)["egress"] if any(p["port"] in (6443, 16443) for p in r["ports"])]
        if name == "bootstrap":
            assert api == [{"to": addresses, "ports": tcp(*API_PORTS)}]
        else:
            assert api == [], name


def test_the_entrypoint_admits_only_the_named_controller_namespace_on_its_port():
    assert policy(deployed("scaled"), "web")["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}], "ports": tcp(8000)}]
    # Nothing named: nothing outside the app gets in (and the stack refuses it, below), never every namespace.
    assert policy(deployed("default"), "web")["ingress"] == []
    for name in ("postgres", "valkey"):
        assert not [peer for rule in policy(deployed("scaled"), name)["ingress"] for peer in rule["from"]
                    if "namespaceSelector" in peer or "ipBlock" in peer], name


# --- the Ingress -------------------------------------------------------------------------------

def test_ingress_https_with_a_cluster_issuer_and_the_operators_annotations_winning():
    ingress = deployed("https-cluster-issuer").one("Ingress", "demo").inputs
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod",
        "nginx.ingress.kubernetes.io/proxy-body-size": "20m",  # the operator's, not the default 100m
    }
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["errors.example.com"], "secretName": "demo-tls"}]
    (rule,) = spec["rules"]
    assert rule["host"] == "errors.example.com"
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix",
                                      "backend": {"service": {"name": "web", "port": {"number": 8000}}}}]


def test_ingress_body_size_raised_for_nginx_and_the_default_class_only():
    assert deployed("default").one("Ingress", "demo").inputs["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "100m"}
    scaled = deployed("scaled").one("Ingress", "demo").inputs
    assert scaled["spec"]["ingressClassName"] == "nginx"
    assert scaled["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "250m"}
    other = deployed("https-tls-secret").one("Ingress", "demo").inputs
    assert other["spec"]["ingressClassName"] == "traefik"
    assert not other["metadata"].get("annotations")


def test_ingress_with_an_existing_tls_secret_and_plain_http_without_tls():
    ingress = deployed("https-tls-secret").one("Ingress", "demo").inputs
    assert ingress["spec"]["tls"] == [{"hosts": ["errors.example.com"], "secretName": "errors-example-com-tls"}]
    http = deployed("http").one("Ingress", "demo").inputs
    assert "tls" not in http["spec"] and http["spec"]["rules"][0]["host"] == "errors.internal.example.com"
    # neither issuer nor secret: the controller's default certificate serves the host
    assert deployed("default").one("Ingress", "demo").inputs["spec"]["tls"] == [{"hosts": ["errors.example.com"]}]


def test_ingress_waits_for_the_entrypoint_workload():
    result = deployed("default")
    assert result.one("Deployment", "web").urn in result.one("Ingress", "demo").dependencies


# --- the network settings ------------------------------------------------------------------------

def _public_web():
    """The sample with web's internet marked public, as GlitchTip's and Sentry's are."""
    return with_workload(sample_spec(), "web", egress=(Egress("mail", (587,)), Egress("internet", (80, 443), public=True)))


NETWORK_VARIANTS = {
    "openshift-dns": dict(data={**EDGE, "dns": {"namespace": "openshift-dns", "ports": [5353]}}),
    # NodeLocal DNSCache: its link-local address (IPVS mode) and kube-dns' ClusterIP (iptables mode).
    "node-local-dns": dict(data={**EDGE, "dns": {"addresses": ["169.254.20.10", "10.96.0.10/32"]}}),
    "load-balancer": dict(data={"ingress": {"clusterIssuer": "letsencrypt-prod",
                                            "sourceCidrs": ["10.0.0.0/20", "10.0.16.0/20"]}}),
    "both-edges": dict(data={"ingress": {"clusterIssuer": "letsencrypt-prod", "controllerNamespace": "ingress-nginx",
                                         "sourceCidrs": ["192.0.2.0/24"]}}),
    "gateway": dict(data={"gateway": {"name": "public", "namespace": "gateway-infra",
                                      "sourceCidrs": ["35.191.0.0/16", "130.211.0.0/22"]}}),
    "tls-secret": dict(data={"ingress": {"tlsSecret": "mine", "controllerNamespace": "ingress-nginx"}}),
    "cilium": dict(data={**EDGE, "ciliumApiServer": True}),
    "public": dict(data=EDGE, spec=_public_web),
    "public-cluster-networks": dict(data={**EDGE, "clusterNetworks": ["10.244.0.0/16", "10.96.0.0/12"]},
                                    spec=_public_web),
    # The operator says otherwise: an internal webhook receiver, a backup target named as anywhere, no mail.
    "operator-addresses": dict(data={**EDGE, "egress": {"internet": ["0.0.0.0/0", "10.20.0.5/32"],
                                                        "offsite": ["0.0.0.0/0"], "mail": []}}, spec=_public_web),
}


@lru_cache(maxsize=None)
def network(variant: str):
    options = dict(NETWORK_VARIANTS[variant])
    if "spec" in options:
        options["spec"] = options["spec"]()
    return deploy(**options)


def test_dns_goes_where_the_cluster_resolves_openshift_on_5353_node_local_dns_at_its_address():
    udp_tcp = [{"protocol": "UDP", "port": 5353}, {"protocol": "TCP", "port": 5353}]
    for name in workloads(network("openshift-dns")):
        assert policy(network("openshift-dns"), name)["egress"][0] == {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}}}],
            "ports": udp_tcp}, name
    for name in workloads(network("node-local-dns")):
        kube_dns, node_local = policy(network("node-local-dns"), name)["egress"][:2]
        assert kube_dns == DNS, name  # CoreDNS stays: NodeLocal DNSCache forwards misses, pods may fall back
        assert node_local == {"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}, {"ipBlock": {"cidr": "10.96.0.10/32"}}],
                              "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}, name


def test_a_public_destination_excludes_the_private_ranges_as_well_as_link_local():
    assert outside(network("public"), "web") == [{"to": ANYWHERE, "ports": tcp(587)}, {"to": PUBLIC, "ports": tcp(80, 443)}]
    # the operator's own pod and service ranges instead of every private one
    assert outside(network("public-cluster-networks"), "web")[1] == {"to": [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.96.0.0/12", "10.244.0.0/16", "169.254.0.0/16"]}},
        {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128", "fe80::/10"]}}], "ports": tcp(80, 443)}


def test_the_operator_says_otherwise_by_naming_addresses_or_closes_a_destination_with_an_empty_list():
    result = network("operator-addresses")
    # an address inside an excluded range is reachable because it is named; 0.0.0.0/0 keeps its excepts
    assert outside(result, "web") == [{"to": [PUBLIC[0], {"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": tcp(80, 443)}]
    assert outside(result, "backup") == [{"to": [ANYWHERE[0]], "ports": tcp(443)}]
    assert not [r for r in outside(result, "worker")]  # mail closed: the worker reaches nothing outside


def test_the_api_server_cannot_be_closed_since_the_bootstrap_report_goes_through_it():
    from components.platforms.kubernetes import PLUGIN
    from tests.k8s_helpers import settings

    (problem,) = PLUGIN.check(sample_spec(), settings({**EDGE, "sharedStorageClass": "nfs-rwx", "egress": {"kubernetes-api": []}}))
    assert problem.startswith("error-tracking:kubernetes.egress.kubernetes-api: cannot be closed")


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_policy_of_every_network_variant_is_valid_and_each_except_lies_strictly_inside_its_block(version):
    for variant in NETWORK_VARIANTS:
        for declared in network(variant).of_kind("NetworkPolicy"):
            assert strict_problem(declared.manifest(), version) is None, (variant, declared.object_name)
            spec = declared.inputs["spec"]
            rules = [*spec.get("ingress", []), *spec.get("egress", [])]
            for peer in [p for r in rules for p in (*r.get("from", []), *r.get("to", []))]:
                block = peer.get("ipBlock")
                if block:
                    cidr = ipaddress.ip_network(block["cidr"])
                    for inner in map(ipaddress.ip_network, block.get("except", [])):
                        # the API refuses any other except (networking validation: "must be a strict subset")
                        assert inner.version == cidr.version and inner != cidr and inner.subnet_of(cidr), \
                            (variant, declared.object_name, block)


# --- the edge: who may reach the entrypoint --------------------------------------------------------

def test_load_balancers_that_send_from_outside_any_pod_reach_the_entrypoint_from_their_source_cidrs():
    lb = [{"ipBlock": {"cidr": "10.0.0.0/20"}}, {"ipBlock": {"cidr": "10.0.16.0/20"}}]
    assert policy(network("load-balancer"), "web")["ingress"] == [{"from": lb, "ports": tcp(8000)}]
    assert policy(network("both-edges"), "web")["ingress"] == [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": tcp(8000)}]
    gke = [{"ipBlock": {"cidr": "35.191.0.0/16"}}, {"ipBlock": {"cidr": "130.211.0.0/22"}}]
    assert policy(network("gateway"), "web")["ingress"] == [{"from": gke, "ports": tcp(8000)}]


@pytest.mark.parametrize("kubernetes, key", [
    ({"ingress": {"className": "nginx"}}, "ingress"),
    ({"gateway": {"name": "public", "namespace": "gateway-infra"}}, "gateway"),
])
@pytest.mark.parametrize("app", ["glitchtip", "sentry"])
def test_both_apps_refuse_an_entrypoint_without_a_named_edge_before_any_resource(app, kubernetes, key):
    from tests.harness import deploy as deploy_program

    with pytest.raises(Exception) as error:
        deploy_program({"app": app, "platform": "kubernetes", "kubernetes": kubernetes})
    message = str(error.value)
    assert f"error-tracking:kubernetes.{key}.controllerNamespace: is required (or {key}.sourceCidrs)" in message
    assert "sourceCidrs" in message and "Traceback" not in message


# --- cert-manager's HTTP-01 solver ---------------------------------------------------------------

SOLVER = {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}


def test_the_edge_reaches_cert_managers_http01_solver_pods_on_8089_while_a_certificate_is_issued():
    for variant in ("load-balancer", "both-edges"):
        result = network(variant)
        solver = result.one("NetworkPolicy", "acme-http01-solver-traffic")
        web_sources = policy(result, "web")["ingress"][0]["from"]
        assert solver.inputs["spec"] == {"podSelector": SOLVER, "policyTypes": ["Ingress"],
                                         "ingress": [{"from": web_sources, "ports": tcp(8089)}]}, variant
        # the Ingress (and so cert-manager's challenge) waits for the way in
        assert solver.urn in result.one("Ingress", "demo").dependencies


@pytest.mark.parametrize("variant", ["tls-secret", "gateway", "cilium"])
def test_no_solver_policy_without_cert_manager_issuing_the_ingress_certificate(variant):
    assert "acme-http01-solver-traffic" not in {p.object_name for p in network(variant).of_kind("NetworkPolicy")}


# --- the API server on Cilium --------------------------------------------------------------------

def test_on_cilium_the_api_clients_reach_the_kube_apiserver_entity_through_a_cilium_policy():
    result = network("cilium")
    (cnp,) = [d for d in result.k8s() if d.kind == "CiliumNetworkPolicy"]
    assert cnp.typ == "kubernetes:cilium.io/v2:CiliumNetworkPolicy"
    manifest = {"apiVersion": cnp.inputs["apiVersion"], "kind": cnp.inputs["kind"], "spec": cnp.inputs["spec"]}
    assert cilium_problems(manifest) == []
    assert cnp.inputs["spec"] == {
        "endpointSelector": {"matchLabels": {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": INSTANCE},
                             "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                                   "values": ["bootstrap"]}]},
        "egress": [{"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [
            {"port": "443", "protocol": "TCP"}, {"port": "6443", "protocol": "TCP"},
            {"port": "16443", "protocol": "TCP"}]}]}],
    }
    # the bootstrap Job waits for it through its own policy; the others do not
    assert cnp.urn in result.one("NetworkPolicy", "bootstrap-traffic").dependencies
    assert cnp.urn not in result.one("NetworkPolicy", "web-traffic").dependencies
    # and the ipBlock rule stays, for API servers outside the cluster (managed control planes)
    assert [r for r in policy(result, "bootstrap")["egress"] if r["ports"] == tcp(*API_PORTS)]


def test_the_cilium_schema_subset_refuses_what_the_crd_refuses():
    good = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["kube-apiserver"],
                                                         "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]}}
    assert cilium_problems(good) == []
    bad = {**good, "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["apiserver"], "toPorts": [
        {"ports": [{"port": 443, "protocol": "tcp"}]}]}]}}
    assert len(cilium_problems(bad)) == 3
    assert cilium_problems({**good, "spec": {"egress": []}})  # no selector


def test_no_cilium_policy_unless_asked():
    assert not [d for d in deployed("scaled").k8s() if d.kind == "CiliumNetworkPolicy"]
