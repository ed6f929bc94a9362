"""The public entry as a Gateway API HTTPRoute, for clusters that route with a Gateway.

ingress-nginx is retired; Gateway API is the portable successor. The route attaches to a Gateway
the cluster already runs (`kubernetes.gateway`): the Gateway owns the listeners, the certificate
and any body-size limit, so the route only says which host goes where. Like the Ingress it has
one PathPrefix rule to the app's entrypoint service: the app routes inside (Sentry's own nginx
sends ingest to Relay), and regex paths are not portable in Gateway API either.

The object is a gateway.networking.k8s.io/v1 HTTPRoute (standard channel, CRDs installed with
the Gateway API release the cluster runs), declared as a CustomResource: its fields are written
as the CRD names them (camelCase), since no SDK type translates them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import dns_label

API_VERSION = "gateway.networking.k8s.io/v1"
KIND = "HTTPRoute"


def route_spec(ctx: Context, url: str) -> dict[str, Any]:
    """The HTTPRoute's spec: the url's host and path prefix to the entrypoint service's port."""
    parts = urlsplit(url)
    gateway = ctx.settings.gateway
    entry = ctx.spec.entrypoint
    parent: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                              "name": gateway.name, "namespace": gateway.namespace}
    if gateway.section_name:
        parent["sectionName"] = gateway.section_name
    return {
        "parentRefs": [parent],
        "hostnames": [parts.hostname],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": parts.path.rstrip("/") or "/"}}],
            "backendRefs": [{"name": ctx.component(entry.service), "port": entry.port}],
        }],
    }


def declare(ctx: Context, url: str, secret: bool = False) -> k8s.apiextensions.CustomResource:
    """`secret`: the operator set the url as a secret, so the route carrying its host is one too."""
    spec = route_spec(ctx, url)
    return k8s.apiextensions.CustomResource(
        f"{ctx.name}-httproute",
        api_version=API_VERSION,
        kind=KIND,
        metadata=ctx.meta(dns_label(ctx.spec.name, "app name"), ctx.component(ctx.spec.entrypoint.service)),
        spec=pulumi.Output.secret(spec) if secret else spec,
        opts=ctx.opts(ctx.ready[ctx.spec.entrypoint.service]),
    )
