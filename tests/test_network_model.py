"""Both apps and the example stacks on a modelled cluster (tests/network_model.py): every
NetworkPolicy the program declares, evaluated as a cluster would, against the flows the workloads
and the cluster need. Every needed flow is open and nothing else is: what is open beyond the needs
is only the documented extent of a destination the operator gave no addresses for (anywhere but
link-local on its ports, and for a public one not the cluster's networks either).

The needs come from the description (each workload's `connects_to`, `egress`, the API for the
ones that report or watch), from the cluster around the app (its DNS, where its API server
listens, the ingress controller, the Gateway's proxies or the load balancer in front, cert-manager's
HTTP-01 solver, the post-deploy check), and, as a cross-check of the description, from what each
pod's environment, command and files name (`service:port`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import pytest
import yaml

from components import configuration
from components.platforms.kubernetes.settings import KubernetesSettings
from components.spec import Task
from tests.harness import Deployment, deploy
from tests.network_model import CALICO, CILIUM, Cluster, Cni, Endpoint, Flow
from tests.network_sites import EKS_ALB, HOST_NETWORK, INTERNET, KUBEADM, MANAGED, METADATA, MICROK8S, OPENSHIFT, Site
from tests.test_example_stacks import example, with_secrets

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
LINK_LOCAL = [ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")]
SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true", "acme.cert-manager.io/http-domain": "1234",
                 "acme.cert-manager.io/http-token": "5678"}


# --- the stacks ----------------------------------------------------------------------------------

def stack_file(path: Path) -> dict:
    return {k.split(":", 1)[1]: v for k, v in yaml.safe_load(path.read_text())["config"].items()}


def glitchtip_prod(check: bool = False, **kubernetes) -> tuple[dict, tuple[str, ...]]:
    """Pulumi.prod.yaml with its mail secret set as its header says, kubernetes.* changed, and the
    post-deploy check (its own policies, its DNS) when `check`."""
    config = stack_file(ROOT / "Pulumi.prod.yaml")
    config["glitchtip"] = {**config["glitchtip"], "emailUrl": "smtp+tls://user:pass@smtp.example.com:587"}
    config["kubernetes"] = {**config["kubernetes"], **kubernetes}
    if check:
        config["postDeployCheck"] = {"enabled": True}
    return config, ("glitchtip",)


def example_stack(name: str) -> tuple[dict, tuple[str, ...]]:
    values, secrets = example(name)
    return with_secrets(values, secrets)


STACKS = {
    "Pulumi.prod.yaml": (lambda: glitchtip_prod(), KUBEADM),
    "sentry-microk8s.yaml": (lambda: example_stack("sentry-microk8s.yaml"), MICROK8S),
    "sentry-managed-cluster.yaml": (lambda: example_stack("sentry-managed-cluster.yaml"), MANAGED),
    "glitchtip, ALB in IP mode, NodeLocal DNSCache": (lambda: glitchtip_prod(
        check=True, ingress={"className": "alb", "clusterIssuer": "letsencrypt-prod", "sourceCidrs": ["10.0.0.0/20"]},
        dns={"addresses": ["169.254.20.10"]}), EKS_ALB),
    "glitchtip on OpenShift": (lambda: glitchtip_prod(
        check=True, ingress={"className": "openshift-default", "clusterIssuer": "letsencrypt-prod",
                 "controllerNamespace": "openshift-ingress"},
        dns={"namespace": "openshift-dns", "ports": [5353]}), OPENSHIFT),
    "glitchtip, hostNetwork controller, Cilium's API entity": (lambda: glitchtip_prod(
        ingress={"className": "nginx", "clusterIssuer": "letsencrypt-prod", "sourceCidrs": ["192.168.10.0/24"]},
        ciliumApiServer=True), HOST_NETWORK),
}


@dataclass(eq=False)
class Stack:
    deployment: Deployment
    settings: KubernetesSettings
    site: Site

    @property
    def spec(self):
        return self.deployment.result.app.spec.for_platform("kubernetes")

    @property
    def namespace(self) -> str:
        return self.settings.namespace


@lru_cache(maxsize=None)
def stack(name: str) -> Stack:
    make, site = STACKS[name]
    config, secret_keys = make()
    settings = configuration.load(config, frozenset(secret_keys)).platform_settings
    return Stack(deploy(config, secret_keys=secret_keys), settings, site)


# --- the app's pods, and the cluster they run in ------------------------------------------------

@lru_cache(maxsize=None)
def app_pods(s: Stack) -> dict[str, Endpoint]:
    """One pod per workload the program declares (its template's labels and named ports), and
    cert-manager's solver pod while it issues the Ingress's certificate."""
    network = ipaddress.ip_network(s.site.pod_cidr)
    pods = {}
    for index, declared in enumerate(d for d in s.deployment.k8s() if d.kind in WORKLOAD_KINDS):
        spec = declared.inputs["spec"]
        template = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        labels = template["metadata"]["labels"]
        ports = {p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
                 for c in template["spec"]["containers"] for p in c.get("ports", [])}
        component = labels["app.kubernetes.io/component"]
        pods[component] = Endpoint(f"{s.namespace}/{component}", str(network[1000 + index]), s.namespace, labels, ports)
    if s.settings.ingress.cluster_issuer and not s.settings.gateway:
        pods["solver"] = Endpoint(f"{s.namespace}/cm-acme-http-solver", str(network[999]), s.namespace,
                                  SOLVER_LABELS, {"http": (8089, "TCP")})
    return pods


@lru_cache(maxsize=None)
def cluster(s: Stack, cni: Cni) -> Cluster:
    policies = [(d.inputs["metadata"]["namespace"], d.inputs["spec"]) for d in s.deployment.of_kind("NetworkPolicy")]
    cilium = [(d.inputs["metadata"]["namespace"], d.inputs["spec"]) for d in s.deployment.of_kind("CiliumNetworkPolicy")]
    probes = [(p, "TCP") for p in (22, 25, 80, 443, 587, 5432, 6443, 8089, 16443)] + [(53, "UDP"), (5353, "UDP")]
    return Cluster([*app_pods(s).values(), *s.site.endpoints()], policies, cni, cilium, probes)


# --- what is needed, and what the declared extent of a destination tolerates ---------------------

def host(w) -> str:
    """The pod a workload runs in: its own, or the one it runs beside (Workload.beside: a helper
    container, such as Symbolicator's cleaner in Symbolicator's pods)."""
    return getattr(w, "beside", None) or w.name


def calls_api(w) -> bool:
    return bool((isinstance(w, Task) and w.reports) or w.watches or w.state_object)


API = ("kubernetes-api", (443, 6443, 16443), False)


def destinations(s: Stack, w) -> list[tuple[str, tuple[int, ...], bool]]:
    found = [(e.name, e.ports, e.public) for e in w.egress]
    return found + ([API] if calls_api(w) else [])


def clients_of_the_api_only(s: Stack) -> list[str]:
    """Pods that reach nothing but DNS and the API server: the Jobs that stop the previous version
    before an upgrade (and bring autoscaled ones back), one per stop step of the description."""
    return [stop.name for stop in s.spec.stops]


def needed(s: Stack) -> dict[Flow, str]:
    """Each needed flow, with why."""
    pods, site, spec = app_pods(s), s.site, s.spec
    flows: dict[Flow, str] = {}
    entry = spec.entrypoint
    clients = [(w.name, pods[host(w)]) for w in spec.workloads()]
    for name in clients_of_the_api_only(s):
        clients.append((name, pods[name]))
        flows[Flow(pods[name], site.api_server, site.api_port)] = f"{name} scales workloads through the API"
    if "post-deploy-check" in pods:
        clients.append(("post-deploy-check", pods["post-deploy-check"]))
        flows[Flow(pods["post-deploy-check"], pods[entry.service], entry.port)] = "the post-deploy check"
    for name, pod in clients:
        for server, ports in site.dns:
            for port in ports:
                for protocol in ("UDP", "TCP"):
                    flows[Flow(pod, server, port, protocol)] = f"{name} resolves names"
    for w in spec.workloads():
        pod = pods[host(w)]
        for peer in w.connects_to:
            for port in spec.service(peer).ports:
                flows[Flow(pod, pods[peer], port.number)] = f"{w.name} connects to {peer}"
        for name, ports, _ in destinations(s, w):
            if s.settings.egress.get(name) == ():
                continue  # closed by the operator
            where = site.api_server if name == "kubernetes-api" else site.destinations.get(name, INTERNET)
            for port in ([site.api_port] if name == "kubernetes-api" else ports):
                flows[Flow(pod, where, port)] = f"{w.name} reaches {name}"
    for edge in site.edge:
        flows[Flow(edge, pods[entry.service], entry.port)] = "public traffic reaches the entrypoint"
        if "solver" in pods:
            flows[Flow(edge, pods["solver"], 8089)] = "the ACME server validates the HTTP-01 challenge"
    return flows


def tolerated(s: Stack, cni: Cni) -> set[Flow]:
    """What a destination's declared extent opens besides the needs: anywhere on its ports but
    link-local (and the cluster's networks for a public one) where the operator gave no addresses,
    and within the addresses they gave."""
    pods = app_pods(s)
    outside = [e for e in s.site.endpoints() if e.namespace != s.namespace]
    dns = s.settings.dns
    found = set()
    reaching = [(pods[host(w)], destinations(s, w)) for w in s.spec.workloads()]
    reaching += [(pods[name], [API]) for name in clients_of_the_api_only(s)]
    for pod, reaches in reaching:
        for name, ports, public in reaches:
            given = s.settings.egress.get(name)
            for far in outside:
                address = ipaddress.ip_address(far.ip)
                if given is not None:
                    reach = any(address in ipaddress.ip_network(c) for c in given if ipaddress.ip_network(c).version == address.version)
                else:
                    private = [ipaddress.ip_network(n) for n in s.settings.cluster_networks] if public else []
                    reach = not any(address.version == n.version and address in n for n in [*LINK_LOCAL, *private])
                found |= {Flow(pod, far, port) for port in ports if reach}
        # the DNS rule admits the resolver's namespace, whichever of its pods answers
        found |= {Flow(pod, far, port, protocol) for far in outside if far.namespace == dns.namespace
                  for port in dns.ports for protocol in ("UDP", "TCP")}
    # whatever sends from the edge's source CIDRs (every node, for a hostNetwork controller)
    entry, sources = s.spec.entrypoint, [ipaddress.ip_network(c) for c in s.settings.edge_cidrs]
    for far in outside:
        address = ipaddress.ip_address(far.ip)
        if any(address.version == n.version and address in n for n in sources):
            found.add(Flow(far, pods[entry.service], entry.port))
            if "solver" in pods:
                found.add(Flow(far, pods["solver"], 8089))
    return found


# --- what the pods' own configuration names -----------------------------------------------------

# Lines naming an address the configuration hands on to another service rather than connecting to
# it: Sentry's `system.internal-url-prefix` is the base of the URLs Symbolicator fetches debug files
# from (getsentry/sentry src/sentry/lang/native/sources.py, get_internal_source).
HANDED_ON = re.compile(r"^\s*system\.internal-url-prefix:", re.MULTILINE)


def referenced(s: Stack) -> dict[Flow, str]:
    """`service:port` (or `service.namespace.svc:port`) in a pod's environment, command or files:
    a connection its configuration makes, needed whatever the description says (a service naming
    itself, as Kafka's advertised listener does, is no connection)."""
    services = {d.object_name: d.inputs["spec"] for d in s.deployment.of_kind("Service")
                if d.inputs["metadata"]["namespace"] == s.namespace}
    stores = {(d.kind, d.object_name): d.inputs for d in s.deployment.of_kind("ConfigMap") + s.deployment.of_kind("Secret")
              if d.inputs["metadata"].get("namespace") == s.namespace}
    pods = app_pods(s)
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, sorted(services, key=len, reverse=True))) +
                         rf")(?:\.{re.escape(s.namespace)}(?:\.svc(?:\.cluster\.local)?)?)?:(\d{{1,5}})(?!\d)")
    flows = {}
    for declared in (d for d in s.deployment.k8s() if d.kind in WORKLOAD_KINDS):
        spec = declared.inputs["spec"]
        template = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        component = template["metadata"]["labels"]["app.kubernetes.io/component"]
        texts = []
        for container in template["spec"]["containers"]:
            texts += [*container.get("command", []), *container.get("args", []),
                      *(e.get("value", "") for e in container.get("env", []))]
            for source in container.get("envFrom", []):
                for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if ref in source:
                        texts += _values(stores.get((kind, source[ref]["name"])))
        for volume in template["spec"].get("volumes", []):
            if "configMap" in volume:
                texts += _values(stores.get(("ConfigMap", volume["configMap"]["name"])))
            if "secret" in volume:
                texts += _values(stores.get(("Secret", volume["secret"]["secretName"])))
        for text in texts:
            lines = [line for line in str(text).splitlines() if not HANDED_ON.match(line)]
            for service, port in pattern.findall("\n".join(lines)):
                if service == component:
                    continue
                target = next((p.get("targetPort", p["port"]) for p in services[service]["ports"]
                               if p["port"] == int(port)), None)
                if target is not None and service in pods:
                    flows[Flow(pods[component], pods[service], int(target))] = f"{component}'s configuration names {service}:{port}"
    return flows


def _values(store: Optional[dict]) -> list[str]:
    if not store:
        return []
    return [str(v) for key in ("data", "stringData") for v in (store.get(key) or {}).values()]


# --- the stacks on the modelled cluster ----------------------------------------------------------

CASES = [(name, cni) for name, (_, site) in STACKS.items() for cni in site.cnis]


def _show(flows, why=None) -> list[str]:
    return sorted(f"{f}" + (f"  ({why[f]})" if why and f in why else "") for f in flows)


def expected_gaps(s: Stack, cni: Cni) -> set[Flow]:
    """Needed flows the plugin cannot open with what the stack declares: on Cilium, an API server on
    a node is no ipBlock's, so without `ciliumApiServer` the API clients cannot reach it."""
    if cni.ip_block_matches_nodes or not s.site.api_server.node or s.settings.cilium_api_server:
        return set()
    return {f for f in needed(s) if f.destination == s.site.api_server}


@pytest.mark.parametrize("name, cni", CASES, ids=[f"{n} on {c.name}" for n, c in CASES])
def test_every_needed_flow_is_open_and_nothing_else(name, cni):
    s = stack(name)
    model = cluster(s, cni)
    needs = needed(s)
    allowed = model.allowed_flows(involving=s.namespace)
    missing = set(needs) - allowed - expected_gaps(s, cni)
    assert not missing, "needed but closed:\n" + "\n".join(_show(missing, needs))
    extra = allowed - set(needs) - tolerated(s, cni)
    assert not extra, "open but not needed:\n" + "\n".join(_show(extra))


@pytest.mark.parametrize("name, cni", CASES, ids=[f"{n} on {c.name}" for n, c in CASES])
def test_what_must_stay_closed_is_closed(name, cni):
    s = stack(name)
    model, pods = cluster(s, cni), app_pods(s)
    other = next(e for e in s.site.endpoints() if e.namespace == "shop")
    entry = s.spec.entrypoint
    for w in s.spec.workloads():
        pod = pods[host(w)]
        for port in (80, 443):
            assert not model.allows(Flow(pod, METADATA, port)), f"{w.name} reaches the metadata endpoint"
        for port in [p.number for p in getattr(w, "ports", ())]:
            assert not model.allows(Flow(other, pod, port)), f"another namespace reaches {w.name}:{port}"
            if not (w.name == entry.service and port == entry.port and INTERNET in s.site.edge):
                assert not model.allows(Flow(INTERNET, pod, port)), f"the internet reaches {w.name}:{port}"
        # a public destination never reaches into the cluster (where no other destination of the
        # workload without addresses opens the same port anywhere)
        if any(e.public for e in w.egress) and cni.ip_block_matches_pods:
            public_ports = {p for e in w.egress if e.public for p in e.ports}
            anywhere = {p for name, ports, public in destinations(s, w) if not public and name not in s.settings.egress
                        for p in ports}
            for port in public_ports - anywhere:
                assert not model.allows(Flow(pod, other, port)), f"{w.name} reaches another namespace on {port}"


@pytest.mark.parametrize("name", list(STACKS))
def test_what_each_pods_configuration_connects_to_is_open(name):
    s = stack(name)
    references = referenced(s)
    assert len(references) >= 3, "the configuration scan found (almost) nothing: is it still reading the pods?"
    for cni in s.site.cnis:
        closed = {f for f in references if not cluster(s, cni).allows(f)}
        assert not closed, f"on {cni.name}, named in configuration but closed:\n" + "\n".join(_show(closed, references))


def test_every_kubernetes_stack_file_is_modelled():
    files = [*sorted((ROOT / "examples" / "stacks").glob("*.yaml")), *sorted(ROOT.glob("Pulumi.*.yaml"))]
    on_kubernetes = {f.name for f in files if stack_file(f).get("platform") == "kubernetes"}
    assert on_kubernetes == {"Pulumi.prod.yaml", "sentry-microk8s.yaml", "sentry-managed-cluster.yaml"}
    assert on_kubernetes <= set(STACKS)
    assert {stack(name).deployment.result.app.spec.name for name in on_kubernetes} == {"glitchtip", "sentry"}


def test_on_cilium_the_api_server_on_a_node_needs_ciliums_own_policy():
    """Pulumi.prod.yaml on a kubeadm cluster with Cilium: the report cannot reach the API server
    through an ipBlock (cilium/cilium#14724); with `ciliumApiServer` it can."""
    plain = stack("Pulumi.prod.yaml")
    gaps = expected_gaps(plain, CILIUM)
    clients = {w.name for w in plain.spec.workloads() if calls_api(w)}
    assert "bootstrap" in clients and {f.source.name.rsplit("/", 1)[-1] for f in gaps} == clients
    assert not [f for f in gaps if cluster(plain, CILIUM).allows(f)]
    assert all(cluster(plain, CALICO).allows(f) for f in gaps)
    with_entity = stack("glitchtip, hostNetwork controller, Cilium's API entity")
    api = [f for f in needed(with_entity) if f.destination == with_entity.site.api_server]
    assert api and all(cluster(with_entity, CILIUM).allows(f) for f in api)


def test_of_all_sentrys_pods_only_web_and_the_taskworker_reach_integrations():
    """Not the install steps that run in web's image, nor any other Sentry process."""
    s = stack("sentry-microk8s.yaml")
    reaching = {w.name for w in s.spec.workloads() if any(e.name == "integrations" for e in w.egress)}
    assert reaching == {"web", "taskworker"}
    model, pods = cluster(s, CALICO), app_pods(s)
    for w in (w for w in s.spec.workloads() if host(w) == w.name):  # pods of their own
        assert model.allows(Flow(pods[w.name], INTERNET, 443)) == (w.name in reaching or any(
            443 in e.ports for e in w.egress) or calls_api(w)), w.name
