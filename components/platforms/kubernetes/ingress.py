"""The public entry: an Ingress for the `url` host to the app's entrypoint service, with TLS.

One path (the url's, as a Prefix) to one service: the app routes inside (Sentry's own nginx
sends ingest to Relay), so nothing here depends on a controller's regex dialect. The request
body limit is raised for the controllers whose annotation we know (ingress-nginx answers 413
above 1 MiB by default, which refuses source maps and attachments).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import dns_label

# Body-size annotations by ingress class name, for the controllers that read one. MicroK8s' ingress
# add-on names its class `public`: ingress-nginx before MicroK8s 1.35, Traefik from 1.35 on (kept
# "backward compatible with the previous NGINX setup", canonical.com/microk8s/docs/addon-ingress).
BODY_SIZE_ANNOTATIONS = {
    "nginx": "nginx.ingress.kubernetes.io/proxy-body-size",
    "public": "nginx.ingress.kubernetes.io/proxy-body-size",
}


def declare(ctx: Context, url: str, secret: bool = False) -> k8s.networking.v1.Ingress:
    """`secret`: the operator set the url as a secret, so the object carrying its host is one too."""
    parts = urlsplit(url)
    entry = ctx.spec.entrypoint
    settings = ctx.settings.ingress
    annotations: dict[str, str] = {}
    body_size = BODY_SIZE_ANNOTATIONS.get(settings.class_name or "nginx")
    if body_size:
        annotations[body_size] = f"{settings.max_body_mb}m"
    annotations.update(settings.annotations)
    service = ctx.component(entry.service)
    spec: dict[str, Any] = {
        "rules": [{
            "host": parts.hostname,
            "http": {"paths": [{
                "path": parts.path.rstrip("/") or "/",
                "path_type": "Prefix",
                "backend": {"service": {"name": service, "port": {"number": entry.port}}},
            }]},
        }],
    }
    if settings.class_name:
        spec["ingress_class_name"] = settings.class_name
    if parts.scheme == "https":
        tls: dict[str, Any] = {"hosts": [parts.hostname]}
        if settings.cluster_issuer:
            annotations["cert-manager.io/cluster-issuer"] = settings.cluster_issuer
            tls["secret_name"] = f"{dns_label(ctx.spec.name, 'app name')}-tls"
        elif settings.tls_secret:
            tls["secret_name"] = settings.tls_secret
        # Neither: the ingress controller's default certificate serves the host.
        spec["tls"] = [tls]
    return k8s.networking.v1.Ingress(
        f"{ctx.name}-ingress",
        metadata=ctx.meta(dns_label(ctx.spec.name, "app name"), service,
                          annotations=pulumi.Output.secret(annotations) if ctx.settings.secret else annotations),
        spec=pulumi.Output.secret(spec) if secret else spec,
        opts=ctx.opts(ctx.ready[entry.service], *ctx.edge_policies),
    )
