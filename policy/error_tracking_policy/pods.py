"""Kubernetes pods run as non-root without privilege escalation, unless their image needs root.

A container counts as non-root when its effective user (container, else pod security context)
is set and not 0, or runAsNonRoot is true and the user is not 0. Images that cannot start
otherwise are named (repository only, no tag) in the policy's rootImages config.
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy

from .workloads import PodContainer, image_repository, pod_containers


def _effective(container: PodContainer, key: str):
    own = (container.spec.get("securityContext") or {}).get(key)
    return own if own is not None else container.pod_security.get(key)


def _problems(container: PodContainer) -> list[str]:
    problems = []
    user = _effective(container, "runAsUser")
    if user == 0 or (user is None and _effective(container, "runAsNonRoot") is not True):
        problems.append("may run as root: set runAsNonRoot: true (and a runAsUser other than 0)")
    security = container.spec.get("securityContext") or {}
    if security.get("privileged") is True:
        problems.append("is privileged: drop securityContext.privileged")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("may escalate privileges: set securityContext.allowPrivilegeEscalation: false")
    return problems


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    root_images = set(args.get_config().get("rootImages", []))
    for container in pod_containers(args.resource_type, args.props):
        image = container.spec.get("image") or ""
        if image and image_repository(image) in root_images:
            continue
        for problem in _problems(container):
            report_violation(
                f"{args.name}: container {container.name} {problem}; or, if image {image} cannot run "
                "otherwise, list its repository in this policy's rootImages in the stack's policy config")


POLICY = ResourceValidationPolicy(
    name="kubernetes-pods-run-as-non-root",
    description="Kubernetes containers run as non-root without privilege escalation, unless their image is listed in rootImages.",
    validate=_validate,
    config_schema=PolicyConfigSchema(properties={
        "rootImages": {"type": "array", "items": {"type": "string"}, "default": []},
    }),
)
