"""The `kubernetes:` settings section, validated in full before any resource is declared.

Every problem names its setting (`error-tracking:kubernetes.autoscaling.web.minReplicas`) and unknown keys are
refused, so a typo never silently falls back to a default. The kubeconfig may hold credentials:
it is read as a secret and never echoed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.validation import Problems, Section, describe, label_problem

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# An annotation key: an optional DNS-subdomain prefix and a name of up to 63 characters.
ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

MAX_REPLICAS = 100
# Namespaces the cluster itself and everyone else use: the default-deny policy this program puts in
# its namespace would cut CoreDNS, the API server's endpoints or other teams' pods off.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
EVERYWHERE = ("0.0.0.0/0", "::/0")
# `egress.<this>`: where the API server is, for tasks that write their report through it.
API_SERVER = "kubernetes-api"
# What the internet excludes unless `clusterNetworks` says otherwise: the private ranges, which hold
# every common distribution's pod and service ranges (RFC 1918, RFC 6598 shared space, IPv6 ULA).
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


def subdomain_problem(value: str) -> Optional[str]:
    if DNS_SUBDOMAIN.match(value) and len(value) <= 253:
        return None
    return "must be a Kubernetes object name: lower-case letters, digits, dashes and dots (at most 253)"


def annotation_key_problem(key: str) -> Optional[str]:
    prefix, _, name = key.rpartition("/")
    if prefix and subdomain_problem(prefix):
        return "has an invalid prefix (must be a DNS subdomain such as nginx.ingress.kubernetes.io)"
    if not ANNOTATION_NAME.match(name):
        return "must be an annotation name: up to 63 letters, digits, '-', '_' or '.', optionally prefixed by 'domain/'"
    return None


@dataclass(frozen=True)
class Autoscaling:
    """A HorizontalPodAutoscaler for one scalable service, between min and max replicas."""

    min_replicas: int
    max_replicas: int
    target_cpu_percent: int = 75


@dataclass(frozen=True)
class IngressSettings:
    class_name: Optional[str] = None
    # cert-manager ClusterIssuer that issues the certificate, or an existing TLS Secret (not both).
    cluster_issuer: Optional[str] = None
    tls_secret: Optional[str] = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    # Largest request body (uploads of source maps, attachments); set for controllers we know.
    max_body_mb: int = 100
    # The namespace of the ingress controller's pods, and the addresses of anything that sends from
    # outside a pod (a cloud load balancer in IP mode, a hostNetwork controller): the only sources
    # allowed to reach the entrypoint. The stack needs one of them (checks.py).
    controller_namespace: Optional[str] = None
    source_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewaySettings:
    """A Gateway API Gateway that the app's HTTPRoute attaches to, instead of an Ingress.

    The Gateway belongs to the cluster (its listeners, certificates and body limits are set there);
    only the route is the app's. The listener must allow routes from the app's namespace.
    """

    name: str
    namespace: str
    # One listener of the Gateway (its `name`), or None: every listener that accepts the host.
    section_name: Optional[str] = None
    # The namespace of the pods that proxy the Gateway's traffic, and the addresses a cloud Gateway
    # sends from (GKE's proxies, a load balancer in IP mode): the only sources allowed to reach the
    # entrypoint. The stack needs one of them (checks.py).
    controller_namespace: Optional[str] = None
    source_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class DnsSettings:
    """Where the pods' resolver lives: DNS pods in `namespace` listening on `ports` (CoreDNS in
    kube-system on 53; OpenShift's in openshift-dns on 5353), and `addresses` answering on 53
    outside any pod (NodeLocal DNSCache's 169.254.20.10, GKE Cloud DNS's 169.254.169.254)."""

    namespace: str = "kube-system"
    ports: tuple[int, ...] = (53,)
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class KubernetesSettings:
    # A kubeconfig path or its contents (secret); None: the ambient one (KUBECONFIG, ~/.kube/config).
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: str = "error-tracking"
    create_namespace: bool = True
    # None: the cluster's default StorageClass.
    storage_class: Optional[str] = None
    # The class for volumes several pods mount at once (ReadWriteMany: NFS, EFS, Filestore, Azure
    # Files...); required when the app has such a volume (checks.py), never a silent fallback to a
    # class that serves ReadWriteOnce only. Databases stay on storage_class (block storage).
    shared_storage_class: Optional[str] = None
    ingress: IngressSettings = field(default_factory=IngressSettings)
    # A Gateway API route instead of the Ingress (ingress-nginx is retired).
    gateway: Optional[GatewaySettings] = None
    # Service name -> its autoscaler (services the app marks scalable only).
    autoscaling: Mapping[str, Autoscaling] = field(default_factory=dict)
    # Egress destination name (the app's `Egress.name`: mail, database, object-storage...) ->
    # the addresses pods may reach it at; an empty list closes it. Unlisted names: anywhere but
    # link-local (and, for the app's public destinations, but `cluster_networks`), on their ports.
    egress: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What the public destinations (the internet, Sentry's integrations) exclude besides link-local:
    # the cluster's pod and service ranges, and any network of the site the internet is not.
    cluster_networks: tuple[str, ...] = PRIVATE_NETWORKS
    dns: DnsSettings = field(default_factory=DnsSettings)
    # Also a CiliumNetworkPolicy to the kube-apiserver entity for the pods that call the API:
    # Cilium applies no ipBlock to node addresses (cilium/cilium#14724).
    cilium_api_server: bool = False
    # Volume name -> size in GiB, overriding the size the app asks for.
    volume_sizes: Mapping[str, int] = field(default_factory=dict)
    # How long a one-shot task (migration, bootstrap) may run before its Job fails.
    task_timeout_seconds: int = 1800
    # A directory: write the manifests there instead of applying them to a cluster.
    render_yaml_to: Optional[str] = None
    # Set with `pulumi config set --secret` somewhere below `kubernetes`: its free-form values
    # (context, annotations) stay secret in state; names of objects cannot (see the README).
    secret: bool = False

    @property
    def edge_namespace(self) -> Optional[str]:
        """Where the pods that carry public traffic to the entrypoint run (None: unknown)."""
        return self.gateway.controller_namespace if self.gateway else self.ingress.controller_namespace

    @property
    def edge_cidrs(self) -> tuple[str, ...]:
        """The addresses public traffic reaches the entrypoint from, outside any pod."""
        return self.gateway.source_cidrs if self.gateway else self.ingress.source_cidrs


def parse_settings(section: Section, problems: Problems) -> KubernetesSettings:
    """Validate `kubernetes:`; an absent section gives the defaults."""
    defaults = KubernetesSettings()
    kubeconfig = section.string("kubeconfig", None, secret=True)
    context = section.string("context", None, check=lambda v: None if v and "\n" not in v else "must be a context name from the kubeconfig")
    namespace = section.string("namespace", defaults.namespace, check=_namespace_problem)
    create_namespace = section.boolean("createNamespace", True)
    storage_class = section.string("storageClass", None, check=subdomain_problem)
    shared_storage_class = section.string("sharedStorageClass", None, check=subdomain_problem)
    ingress = _ingress(section.section("ingress"))
    gateway = _gateway(section.section("gateway")) if section.has("gateway") else None
    if section.has("gateway") and section.has("ingress"):
        section.error("ingress", "cannot be combined with kubernetes.gateway: the HTTPRoute replaces the Ingress "
                      "(class, TLS and body size are the Gateway's own settings); remove one of them")
    autoscaling = _autoscaling(section.section("autoscaling"))
    egress = _egress(section.section("egress"))
    cluster_networks = _cidrs(section, "clusterNetworks", PRIVATE_NETWORKS, allow_empty=True)
    dns = _dns(section.section("dns"))
    cilium_api_server = section.boolean("ciliumApiServer", False)
    for old in ("web", "worker"):
        # Keys of earlier releases: say where they went instead of only "unknown".
        section.moved(old, "replicas are set in the app's section (<app>.replicas.<service>) and an autoscaler "
                      "in kubernetes.autoscaling.<service>: {minReplicas, maxReplicas, targetCpuPercent}")
    volume_sizes = _volume_sizes(section)
    task_timeout = section.integer("taskTimeoutSeconds", defaults.task_timeout_seconds, minimum=60, maximum=86400)
    render = section.string(
        "renderYamlTo", None,
        check=lambda v: None if v and "\n" not in v and "\0" not in v else "must be a directory path",
    )
    section.finish()
    return KubernetesSettings(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        create_namespace=create_namespace,
        storage_class=storage_class,
        shared_storage_class=shared_storage_class,
        ingress=ingress,
        gateway=gateway,
        autoscaling=autoscaling,
        egress=egress,
        cluster_networks=cluster_networks,
        dns=dns,
        cilium_api_server=cilium_api_server,
        volume_sizes=volume_sizes,
        task_timeout_seconds=task_timeout,
        render_yaml_to=render,
        secret=section.secret,
    )


def _namespace_problem(value: str) -> Optional[str]:
    if value in RESERVED_NAMESPACES:
        return (f"must be a namespace of the app's own, not {value!r}: the program closes its namespace with a "
                "default-deny NetworkPolicy, which would cut off the cluster's or other teams' pods there "
                f"({', '.join(RESERVED_NAMESPACES)} are refused)")
    return label_problem(value)


def _ingress(section: Section) -> IngressSettings:
    class_name = section.string("className", None, check=subdomain_problem)
    issuer = section.string("clusterIssuer", None, check=subdomain_problem)
    tls_secret = section.string("tlsSecret", None, check=subdomain_problem)
    annotations = _annotations(section)
    max_body = section.integer("maxBodyMb", 100, minimum=1, maximum=10240)
    controller = section.string("controllerNamespace", None, check=label_problem)
    sources = _cidrs(section, "sourceCidrs", ())
    section.finish()
    if issuer and tls_secret:
        section.error(
            "tlsSecret",
            "cannot be combined with clusterIssuer: either cert-manager issues the certificate "
            "or an existing Secret holds it; remove one of them",
        )
        tls_secret = None
    return IngressSettings(class_name=class_name, cluster_issuer=issuer, tls_secret=tls_secret,
                           annotations=annotations, max_body_mb=max_body, controller_namespace=controller,
                           source_cidrs=sources)


def _gateway(section: Section) -> Optional[GatewaySettings]:
    name = section.string("name", check=subdomain_problem)
    namespace = section.string("namespace", check=label_problem)
    section_name = section.string("sectionName", None, check=lambda v: None if DNS_SUBDOMAIN.match(v) and len(v) <= 253
                                  else "must be the name of one of the Gateway's listeners")
    controller = section.string("controllerNamespace", None, check=label_problem)
    sources = _cidrs(section, "sourceCidrs", ())
    section.finish()
    if name is None or namespace is None:
        return None
    return GatewaySettings(name=name, namespace=namespace, section_name=section_name, controller_namespace=controller,
                           source_cidrs=sources)


def _annotations(section: Section) -> dict[str, str]:
    raw = section.raw("annotations", {})
    if not isinstance(raw, dict):
        section.error("annotations", f"must be an object of annotation name: string value, got {describe(raw)}")
        return {}
    result: dict[str, str] = {}
    for key, value in raw.items():
        setting = f"annotations.{key}"
        problem = annotation_key_problem(key) if isinstance(key, str) else "must be a string"
        if problem:
            section.error(setting, problem)
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            section.error(setting, f"must be a string, got {describe(value)}")
            continue
        result[key] = value if isinstance(value, str) else str(value)
    return result


def _autoscaling(section: Section) -> dict[str, Autoscaling]:
    """`{service: {minReplicas, maxReplicas, targetCpuPercent}}`; the services are checked against
    the app's description later (components.platforms.kubernetes.checks)."""
    result: dict[str, Autoscaling] = {}
    for name in list(section.data):
        section.seen.add(name)
        problem = label_problem(name) if isinstance(name, str) else "must be a string"
        if problem:
            section.error(name, f"must name a service of the app ({problem})")
            continue
        item = section.section(name)
        low = item.integer("minReplicas", 1, minimum=1, maximum=MAX_REPLICAS)
        high = item.integer("maxReplicas", minimum=1, maximum=MAX_REPLICAS)
        cpu = item.integer("targetCpuPercent", 75, minimum=10, maximum=400)
        item.finish()
        if high is None:
            continue
        if low > high:
            item.error("minReplicas", f"must not exceed maxReplicas ({high}), got {low}")
            continue
        if low == high:
            item.error("maxReplicas", f"must exceed minReplicas ({low}) for an autoscaler; for a fixed count set "
                       "the app's replicas instead")
            continue
        result[name] = Autoscaling(min_replicas=low, max_replicas=high, target_cpu_percent=cpu)
    return result


def _egress(section: Section) -> dict[str, tuple[str, ...]]:
    """`{destination: [CIDRs]}`; `[]` closes a destination the app declared."""
    result: dict[str, tuple[str, ...]] = {}
    for name in list(section.data):
        result[str(name)] = _cidrs(section, name, (), allow_empty=True, empty_means="[] to close it")
    section.finish()
    return result


def _cidrs(section: Section, key: str, default: tuple[str, ...], *, allow_empty: bool = False,
           empty_means: str = "") -> tuple[str, ...]:
    """A list of CIDRs (a bare address is its /32 or /128), normalized."""
    value = section.raw(key)
    if value is None:
        return default
    example = '["10.0.0.0/8"]' + (f", or {empty_means}" if empty_means else ", or []" if allow_empty else "")
    if not isinstance(value, list) or (not value and not allow_empty):
        section.error(key, f"must be a list of CIDRs such as {example}, got {describe(value)}")
        return default
    cidrs = []
    for cidr in value:
        try:
            cidrs.append(str(ipaddress.ip_network(str(cidr), strict=False)))
        except ValueError:
            section.error(key, f"has {describe(cidr)}, which is not a CIDR such as 10.0.0.0/8 or 192.0.2.10/32")
    return tuple(cidrs)


def _dns(section: Section) -> DnsSettings:
    defaults = DnsSettings()
    namespace = section.string("namespace", defaults.namespace, check=label_problem)
    raw_ports = section.raw("ports", list(defaults.ports))
    ports = defaults.ports
    numbers = [_port(p) for p in raw_ports] if isinstance(raw_ports, list) else []
    if not numbers or None in numbers:
        section.error("ports", f"must be a list of port numbers such as [53] (OpenShift: [5353]), got {describe(raw_ports)}")
    else:
        ports = tuple(sorted(set(numbers)))
    addresses = _cidrs(section, "addresses", defaults.addresses, allow_empty=True)
    section.finish()
    return DnsSettings(namespace=namespace, ports=ports, addresses=addresses)


def _port(value) -> Optional[int]:
    """A port number (numbers may arrive as floats), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        return None
    return int(value) if 1 <= value <= 65535 else None


def _volume_sizes(section: Section) -> dict[str, int]:
    sizes = section.section("volumeSizes")
    result: dict[str, int] = {}
    for key in list(sizes.data):
        problem = label_problem(key) if isinstance(key, str) else "must be a string"
        if problem:
            sizes.error(key, f"must name a volume of the app ({problem})")
            sizes.seen.add(key)
            continue
        value = sizes.integer(key, None, minimum=1, maximum=65536)
        if value is not None:
            result[key] = value
    sizes.finish()
    return result


@dataclass(frozen=True)
class KubernetesSecretTarget:
    """`dsnTargets[i].kubernetesSecret`: a Secret in the application's (existing) namespace."""

    namespace: str
    name: str
    key: str

    @property
    def destination(self) -> tuple[str, str]:
        """What one writer owns: the Secret (several keys in it would be several writers)."""
        return (self.namespace, self.name)


def parse_kubernetes_secret(section: Section) -> Optional[KubernetesSecretTarget]:
    namespace = section.string("namespace", check=label_problem)
    name = section.string("name", check=subdomain_problem)
    key = section.string(
        "key", "SENTRY_DSN",
        check=lambda v: None if SECRET_KEY.match(v) and len(v) <= 253 else "must be a Secret key (letters, digits, -, _, .)",
    )
    section.finish()
    if namespace and name and key:
        return KubernetesSecretTarget(namespace=namespace, name=name, key=key)
    return None
