"""The platforms' own sections as typed arguments: `docker` and `kubernetes`. No `from __future__ import annotations`: the analyzer reads the annotations as types.
"""

from typing import TypedDict

import pulumi


class Docker(TypedDict, total=False):
    """The Docker platform's settings."""

    host: pulumi.Input[str]
    "or `tcp://host:port`, `ssh://user@host[:port]`"
    ssh_opts: pulumi.Input[list[pulumi.Input[str]]]
    "extra ssh options for the Docker provider"
    ssh_host_key: pulumi.Input[str]
    "the host's key (`ssh-ed25519 AAAA…`), pinned by the post-deploy check over SSH"
    bind_address: pulumi.Input[str]
    "address the web port is published on (`0.0.0.0` only if you mean it)"
    port: pulumi.Input[int]
    "host port of the web UI and ingest (Sentry: its nginx)"
    name_prefix: pulumi.Input[str]
    "container, network and volume name prefix"
    host_paths: pulumi.Input[dict[str, pulumi.Input[str]]]
    "keep a volume in a host directory: `{backups: /var/backups/glitchtip}`"


class Ingress(TypedDict, total=False):
    """The Ingress for the `url` host."""

    class_name: pulumi.Input[str]
    "the Ingress class for the `url` host"
    annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    "the Ingress' annotations; yours win"
    cluster_issuer: pulumi.Input[str]
    "TLS via cert-manager: its ClusterIssuer"
    tls_secret: pulumi.Input[str]
    "TLS from an existing Secret"
    max_body_mb: pulumi.Input[int]
    ("body limit, set for ingress-nginx and MicroK8s' `public` class (`proxy-body-size`); other controllers must "
     "allow it themselves")
    controller_namespace: pulumi.Input[str]
    ("the namespace of the ingress controller's pods: the only namespace allowed to reach the entrypoint (and "
     "cert-manager's HTTP-01 solver)")
    source_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    ("addresses a load balancer or a hostNetwork controller sends from, allowed to the entrypoint too (see "
     "Kubernetes below)")


class Gateway(TypedDict, total=False):
    """An HTTPRoute on an existing Gateway, instead of an Ingress."""

    name: pulumi.Input[str]
    "the Gateway's name"
    namespace: pulumi.Input[str]
    "the Gateway's namespace"
    section_name: pulumi.Input[str]
    "its HTTPS listener"
    controller_namespace: pulumi.Input[str]
    "the namespace of the Gateway's proxy pods"
    source_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    "addresses its load balancer sends from"


class Autoscaling(TypedDict, total=False):
    """A HorizontalPodAutoscaler for one service."""

    min_replicas: pulumi.Input[int]
    "the fewest replicas"
    max_replicas: pulumi.Input[int]
    "the most replicas"
    target_cpu_percent: pulumi.Input[int]
    "the CPU use it aims for, default `75`"


class Dns(TypedDict, total=False):
    """Where pods resolve names."""

    namespace: pulumi.Input[str]
    "the DNS pods' namespace"
    ports: pulumi.Input[list[pulumi.Input[int]]]
    "the ports they listen on"
    addresses: pulumi.Input[list[pulumi.Input[str]]]
    "addresses answering on 53 outside any pod"


class Kubernetes(TypedDict, total=False):
    """The Kubernetes platform's settings."""

    kubeconfig: pulumi.Input[str]
    ("which cluster: a kubeconfig's contents (a secret; as the package's argument it may be unknown at preview) or "
     "its file's path; default the ambient one")
    context: pulumi.Input[str]
    "the kubeconfig's context, default its current one"
    namespace: pulumi.Input[str]
    ("where everything goes; a created namespace is kept on delete and labelled for Pod Security Admission (below). "
     "`default`, `kube-system`, `kube-public` and `kube-node-lease` are refused")
    create_namespace: pulumi.Input[bool]
    ("create the namespace; with `false` the program **closes the namespace it is given** with a default-deny "
     "NetworkPolicy (every pod in it, the app's and any other, loses all traffic the app's policies do not allow) and "
     "does not label it: it says so at every preview, with the `kubectl label` to run")
    storage_class: pulumi.Input[str]
    "for every PersistentVolumeClaim"
    shared_storage_class: pulumi.Input[str]
    ("a ReadWriteMany class for claims pods on several nodes mount at once (GlitchTip's uploads; Sentry's sentry-data "
     "with `sentry.filestore: filesystem`); required when there is such a claim, refused at preview otherwise")
    ingress: Ingress
    "the Ingress for the `url` host"
    gateway: Gateway
    ("`{name, namespace, sectionName?, controllerNamespace or sourceCidrs}`: an HTTPRoute on that Gateway instead of "
     "an Ingress (request body limits are then the Gateway's setting)")
    autoscaling: pulumi.Input[dict[str, Autoscaling]]
    "`{minReplicas, maxReplicas, targetCpuPercent: 75}` for a scalable service"
    egress: pulumi.Input[dict[str, pulumi.Input[list[pulumi.Input[str]]]]]
    ("CIDRs for outside destinations (`mail`, `internet`, `integrations`, `database`, `s3`, `kafka`, "
     "`kubernetes-api`...), `[]` closes one (not `kubernetes-api`); a public one (`internet`, Sentry's "
     "`integrations`) also excludes `clusterNetworks` unless you name addresses inside them")
    cluster_networks: pulumi.Input[list[pulumi.Input[str]]]
    ("what the public destinations may not reach: your pod and service ranges; default 10/8, 172.16/12, 192.168/16, "
     "100.64/10, fc00::/7")
    dns: Dns
    ("where pods resolve: the DNS pods' namespace and port, and addresses answering on 53 outside any pod (see "
     "Kubernetes below)")
    cilium_api_server: pulumi.Input[bool]
    ("on Cilium, also a CiliumNetworkPolicy letting the bootstrap Job and the watchdog reach the `kube-apiserver` "
     "entity")
    volume_sizes: pulumi.Input[dict[str, pulumi.Input[int]]]
    ("`{uploads: 50, postgres-data: 100}` in GiB. A store's claim (a StatefulSet's volumeClaimTemplate) is never "
     "resized or replaced by `up`: a larger size is refused at preview with the `kubectl patch pvc` that expands it "
     "(where its StorageClass has `allowVolumeExpansion`), accepted once the claim has grown; a smaller size or "
     "another `storageClass` is refused (output `deployed.kubernetesClaims` records the sizes)")
    task_timeout_seconds: pulumi.Input[int]
    "deadline of each install Job"
    render_yaml_to: pulumi.Input[str]
    ("write manifests to a directory instead of applying them; they include Secrets **in plaintext**: keep that "
     "directory out of git (`/rendered/` is ignored) and DSNs stay unknown")
