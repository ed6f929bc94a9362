"""What every part of the Kubernetes platform shares: names, labels, options, the description.

The platform component builds one `Context`; the modules that declare workloads, storage,
network policies and the ingress take it, so none of them needs the others' internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes.naming import dns_label, labels, selector
from components.platforms.kubernetes.settings import KubernetesSettings
from components.spec import AppSpec, Workload


@dataclass
class Context:
    # The platform component's resource name: every child's name starts with it.
    name: str
    spec: AppSpec
    settings: KubernetesSettings
    provider: k8s.Provider
    parent: pulumi.Resource
    # The stack's `protect`: data (claims, the namespace) is protected against `pulumi destroy`.
    protect: bool = False
    namespace: Optional[k8s.core.v1.Namespace] = None
    # What other workloads wait for: a service's StatefulSet/Deployment, a task's Job.
    ready: dict[str, pulumi.Resource] = field(default_factory=dict)
    # Each workload's allow policy, by workload name (see network.declare).
    policies: dict[str, pulumi.Resource] = field(default_factory=dict)
    # The StatefulSets' claims, by claim name, once checked against the last deployment (claims.py).
    claims_checked: Optional[pulumi.Output] = None
    # Policies the public entry waits for (cert-manager's solver must be reachable first).
    edge_policies: list[pulumi.Resource] = field(default_factory=list)
    # The CiliumNetworkPolicy that lets the API clients reach the API server, when there is one.
    api_policy: Optional[pulumi.Resource] = None

    @property
    def instance(self) -> str:
        return dns_label(self.name, "component name")

    @property
    def ns(self) -> str:
        return self.settings.namespace

    @property
    def rendering(self) -> bool:
        return self.settings.render_yaml_to is not None

    def labels(self, component: str) -> dict[str, str]:
        return labels(self.spec, self.instance, component)

    def template_labels(self, component: str) -> dict[str, str]:
        """Labels for pod and claim templates: without the app's version, so that an upgrade
        neither restarts what did not change (a database) nor touches a StatefulSet's
        volumeClaimTemplates, which are immutable (pulumi-kubernetes would replace the
        StatefulSet: its database would stop)."""
        return {k: v for k, v in self.labels(component).items() if k != "app.kubernetes.io/version"}

    def selector(self, component: str) -> dict[str, str]:
        return selector(self.spec, self.instance, component)

    def meta(self, name: str, component: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.ns, "labels": self.labels(component), **extra}

    def opts(self, *depends_on: Optional[pulumi.Resource], **kwargs: Any) -> pulumi.ResourceOptions:
        deps = [d for d in depends_on if d is not None]
        if self.namespace is not None:
            deps.insert(0, self.namespace)
        return pulumi.ResourceOptions(parent=self.parent, provider=self.provider, depends_on=deps, **kwargs)

    def data_opts(self, *depends_on: Optional[pulumi.Resource]) -> pulumi.ResourceOptions:
        """For objects holding data: kept when deleted or replaced, protected when asked."""
        return self.opts(*depends_on, retain_on_delete=True, protect=self.protect)

    def component(self, w: Workload | str) -> str:
        return dns_label(w if isinstance(w, str) else w.name, "workload")

    def after(self, w: Workload) -> list[pulumi.Resource]:
        """What `w` waits for: the workloads it starts after, and the network policies that let it
        talk (its own, and the peers' that admit it). Without the policies a pod started under
        the default-deny policy could not resolve or reach anything, and a Job would fail."""
        peers = [self.policies[n] for n in (w.name, *w.connects_to) if n in self.policies]
        return [*(self.ready[d] for d in (*w.depends_on, *w.after)), *peers]
