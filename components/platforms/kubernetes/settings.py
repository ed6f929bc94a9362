"""The `kubernetes:` settings section, validated in full before any resource is declared.

Every problem names its setting (`error-tracking:kubernetes.web.minReplicas`) and unknown keys are
refused, so a typo never silently falls back to a default. The kubeconfig may hold credentials:
it is read as a secret and never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.validation import Problems, Section, describe

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# An annotation key: an optional DNS-subdomain prefix and a name of up to 63 characters.
ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

MAX_REPLICAS = 100


def label_problem(value: str) -> Optional[str]:
    if DNS_LABEL.match(value) and len(value) <= 63:
        return None
    return "must be a DNS label: 1-63 lower-case letters, digits or dashes, starting and ending with a letter or digit"


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
class Scaling:
    """Replicas of one kind of scalable service; an autoscaler runs when max > min."""

    replicas: int = 1
    min_replicas: int = 1
    max_replicas: int = 1
    target_cpu_percent: int = 75

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas > self.min_replicas

    @property
    def guaranteed_replicas(self) -> int:
        """Replicas that always run: what a PodDisruptionBudget may protect."""
        return self.min_replicas if self.autoscaled else self.replicas


@dataclass(frozen=True)
class IngressSettings:
    class_name: Optional[str] = None
    # cert-manager ClusterIssuer that issues the certificate, or an existing TLS Secret (not both).
    cluster_issuer: Optional[str] = None
    tls_secret: Optional[str] = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KubernetesSettings:
    # A kubeconfig path or its contents (secret); None: the ambient one (KUBECONFIG, ~/.kube/config).
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: str = "error-tracking"
    create_namespace: bool = True
    # None: the cluster's default StorageClass.
    storage_class: Optional[str] = None
    ingress: IngressSettings = field(default_factory=IngressSettings)
    # `web` applies to the entrypoint service, `worker` to every other scalable service.
    web: Scaling = field(default_factory=Scaling)
    worker: Scaling = field(default_factory=Scaling)
    # Volume name -> size in GiB, overriding the size the app asks for.
    volume_sizes: Mapping[str, int] = field(default_factory=dict)
    # How long a one-shot task (migration, bootstrap) may run before its Job fails.
    task_timeout_seconds: int = 1800
    # A directory: write the manifests there instead of applying them to a cluster.
    render_yaml_to: Optional[str] = None


def parse_settings(section: Section, problems: Problems) -> KubernetesSettings:
    """Validate `kubernetes:`; an absent section gives the defaults."""
    defaults = KubernetesSettings()
    kubeconfig = section.string("kubeconfig", None, secret=True)
    context = section.string("context", None, check=lambda v: None if v and "\n" not in v else "must be a context name from the kubeconfig")
    namespace = section.string("namespace", defaults.namespace, check=label_problem)
    create_namespace = section.boolean("createNamespace", True)
    storage_class = section.string("storageClass", None, check=subdomain_problem)
    ingress = _ingress(section.section("ingress"))
    web = _scaling(section.section("web"), minimum_replicas=1)
    worker = _scaling(section.section("worker"), minimum_replicas=1)
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
        ingress=ingress,
        web=web,
        worker=worker,
        volume_sizes=volume_sizes,
        task_timeout_seconds=task_timeout,
        render_yaml_to=render,
    )


def _ingress(section: Section) -> IngressSettings:
    class_name = section.string("className", None, check=subdomain_problem)
    issuer = section.string("clusterIssuer", None, check=subdomain_problem)
    tls_secret = section.string("tlsSecret", None, check=subdomain_problem)
    annotations = _annotations(section)
    section.finish()
    if issuer and tls_secret:
        section.error(
            "tlsSecret",
            "cannot be combined with clusterIssuer: either cert-manager issues the certificate "
            "or an existing Secret holds it; remove one of them",
        )
        tls_secret = None
    return IngressSettings(class_name=class_name, cluster_issuer=issuer, tls_secret=tls_secret, annotations=annotations)


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


def _scaling(section: Section, *, minimum_replicas: int) -> Scaling:
    """replicas alone pins the count; minReplicas < maxReplicas adds an autoscaler."""
    replicas = section.integer("replicas", None, minimum=minimum_replicas, maximum=MAX_REPLICAS)
    low = section.integer("minReplicas", None, minimum=minimum_replicas, maximum=MAX_REPLICAS)
    high = section.integer("maxReplicas", None, minimum=minimum_replicas, maximum=MAX_REPLICAS)
    cpu = section.integer("targetCpuPercent", 75, minimum=10, maximum=400)
    section.finish()
    if low is not None and high is not None and low > high:
        section.error("minReplicas", f"must not exceed maxReplicas ({high}), got {low}")
        return Scaling(target_cpu_percent=cpu)
    if low is None:
        low = min(replicas or 1, high) if high is not None else (replicas or 1)
    if high is None:
        high = max(replicas or low, low)
    if replicas is None:
        replicas = low
    elif not low <= replicas <= high:
        section.error("replicas", f"must be between minReplicas ({low}) and maxReplicas ({high}), got {replicas}")
        replicas = low
    return Scaling(replicas=replicas, min_replicas=low, max_replicas=high, target_cpu_percent=cpu)


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
