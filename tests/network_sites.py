"""The clusters the network model test runs the stacks on: what each runs besides the app (DNS, the
API server, the edge in front of the entrypoint, another team's pod), where the app's outside
destinations really are, and which network plugins it is modelled with."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.network_model import CALICO, CILIUM, CILIUM_NODES, Cni, Endpoint


def coredns(ip: str) -> Endpoint:
    return Endpoint("kube-system/coredns", ip, "kube-system", {"k8s-app": "kube-dns"},
                    {"dns": (53, "UDP"), "dns-tcp": (53, "TCP"), "metrics": (9153, "TCP")})


INTERNET = Endpoint("internet", "203.0.113.10")
METADATA = Endpoint("metadata", "169.254.169.254")


@dataclass
class Site:
    """What a cluster runs besides the app, and where the app's outside destinations really are."""

    name: str
    pod_cidr: str
    api_server: Endpoint
    api_port: int
    # Where pods resolve names: (endpoint, ports), UDP and TCP on each.
    dns: tuple[tuple[Endpoint, tuple[int, ...]], ...]
    # What sends public traffic to the entrypoint (controller pods, load balancer or node addresses).
    edge: tuple[Endpoint, ...]
    cnis: tuple[Cni, ...]
    # Egress destination -> the address it resolves to here; unlisted: somewhere on the internet.
    destinations: dict[str, Endpoint] = field(default_factory=dict)
    others: tuple[Endpoint, ...] = ()

    def endpoints(self) -> list[Endpoint]:
        found = [self.api_server, *(e for e, _ in self.dns), *self.edge, *self.destinations.values(), *self.others,
                 INTERNET, METADATA]
        return list(dict.fromkeys(found))


def shop(ip: str) -> Endpoint:
    """Another team's pod: a database and a web server, in the namespace the DSN goes to."""
    return Endpoint("shop/api", ip, "shop", {"app": "api"}, {"http": (80, "TCP"), "https": (443, "TCP"),
                                                             "postgres": (5432, "TCP")})


API_ON_NODE = Endpoint("control-plane node (kube-apiserver)", "192.168.10.10", node=True,
                       entities=frozenset({"kube-apiserver"}))
WORKER_NODE = Endpoint("worker node", "192.168.10.21", node=True)
# A kubeadm cluster: CoreDNS, ingress-nginx, the API server on the control-plane node.
KUBEADM = Site(
    "kubeadm", "10.244.0.0/16", API_ON_NODE, 6443, ((coredns("10.244.0.10"), (53,)),),
    (Endpoint("ingress-nginx/controller", "10.244.0.20", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),),
    (CALICO, CILIUM), others=(WORKER_NODE, shop("10.244.0.30")),
)
# MicroK8s with its dns and ingress add-ons and its default CNI, Calico; the API server on 16443.
MICROK8S = Site(
    "microk8s", "10.1.0.0/16", Endpoint("node (kube-apiserver)", "192.168.1.10", node=True,
                                        entities=frozenset({"kube-apiserver"})), 16443,
    ((coredns("10.1.0.10"), (53,)),),
    (Endpoint("ingress/nginx-ingress-microk8s", "10.1.0.20", "ingress", {"name": "nginx-ingress-microk8s"}),),
    (CALICO,), others=(shop("10.1.0.30"),),
)
# A managed cluster in a VPC (10.0.0.0/16): pods take VPC addresses, the control plane is outside.
MANAGED_API = Endpoint("managed kube-apiserver", "10.0.48.50", entities=frozenset({"kube-apiserver"}))
MANAGED = Site(
    "managed", "10.0.32.0/20", MANAGED_API, 443, ((coredns("10.0.32.10"), (53,)),),
    (Endpoint("gateway-infra/proxy", "10.0.32.20", "gateway-infra", {"app": "gateway-proxy"}),),
    (CALICO, CILIUM),
    destinations={"postgres": Endpoint("rds", "10.0.64.10"), "kafka": Endpoint("msk", "10.0.80.10"),
                  "clickhouse": Endpoint("clickhouse", "10.0.96.10"), "mail": Endpoint("smtp relay", "10.0.112.10")},
    others=(shop("10.0.32.30"), Endpoint("vpc host", "10.0.200.5")),
)
# EKS with the AWS Load Balancer Controller in IP mode (the ALB sends from its subnet) and NodeLocal DNSCache.
NODE_LOCAL = Endpoint("node-local-dns", "169.254.20.10", node=True)
EKS_ALB = Site(
    "eks-alb-nodelocal", "10.0.32.0/20", MANAGED_API, 443, ((coredns("10.0.32.10"), (53,)), (NODE_LOCAL, (53,))),
    (Endpoint("alb", "10.0.1.37"),), (CALICO,), others=(shop("10.0.32.30"),),
)
# OpenShift: the DNS operator's pods answer on 5353 in openshift-dns; the router in openshift-ingress.
OPENSHIFT = Site(
    "openshift", "10.128.0.0/14", API_ON_NODE, 6443,
    ((Endpoint("openshift-dns/dns-default", "10.128.0.10", "openshift-dns", {"dns.operator.openshift.io/daemonset-dns": "default"},
               {"dns": (5353, "UDP"), "dns-tcp": (5353, "TCP")}), (5353,)),),
    (Endpoint("openshift-ingress/router", "10.128.0.20", "openshift-ingress", {"ingresscontroller": "default"}),),
    (CALICO,), others=(shop("10.128.0.30"),),
)
# An ingress controller on the host network: it sends from the nodes' addresses.
HOST_NETWORK = Site(
    "hostnetwork-controller", "10.244.0.0/16", API_ON_NODE, 6443, ((coredns("10.244.0.10"), (53,)),),
    (WORKER_NODE,), (CALICO, CILIUM_NODES), others=(shop("10.244.0.30"),),
)
