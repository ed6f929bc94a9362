"""A closed namespace and the public entry: default-deny, one allow policy per workload built from
`connects_to` and `egress` (never from start order), and the Ingress with its body-size limit."""

from __future__ import annotations

import pytest

from tests.k8s_helpers import INSTANCE, deployed, policy, sample_spec, workloads

ANYWHERE = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]
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


def test_egress_destinations_on_their_ports_to_anywhere_by_default():
    result = deployed("default")

    def outside(name):
        return [r for r in policy(result, name)["egress"] if "ipBlock" in r["to"][0]]

    assert outside("web") == [{"to": ANYWHERE, "ports": tcp(587)}, {"to": ANYWHERE, "ports": tcp(80, 443)}]
    assert outside("worker") == [{"to": ANYWHERE, "ports": tcp(587)}]
    assert outside("backup") == [{"to": ANYWHERE, "ports": tcp(443)}]
    assert outside("migrate") == [] and outside("postgres") == []


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


def test_the_entrypoint_admits_any_namespace_on_its_port_unless_the_controller_is_named():
    assert policy(deployed("default"), "web")["ingress"] == [{"from": [{"namespaceSelector": {}}], "ports": tcp(8000)}]
    assert policy(deployed("scaled"), "web")["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}], "ports": tcp(8000)}]
    for name in ("postgres", "valkey"):
        assert not [peer for rule in policy(deployed("default"), name)["ingress"] for peer in rule["from"]
                    if "namespaceSelector" in peer], name


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
