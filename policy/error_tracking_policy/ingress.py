"""Every Ingress serves its hosts over TLS: DSNs and logins must not cross the network in clear."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from .workloads import INGRESS

FIX = ("set error-tracking:kubernetes.ingress.clusterIssuer (cert-manager) or kubernetes.ingress.tlsSecret, "
       "with an https:// url")


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != INGRESS:
        return
    spec = args.props.get("spec") or {}
    tls = spec.get("tls") or []
    if not tls:
        report_violation(f"Ingress {args.name} has no TLS: {FIX}")
        return
    covered = {host for entry in tls for host in entry.get("hosts") or []}
    for rule in spec.get("rules") or []:
        host = rule.get("host")
        if host and host not in covered:
            report_violation(f"Ingress {args.name} serves {host} without a TLS entry for it: {FIX}")


POLICY = ResourceValidationPolicy(
    name="ingress-serves-tls",
    description="Every Ingress has TLS for each host it serves.",
    validate=_validate,
)
