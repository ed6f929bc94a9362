"""Pinned images: a tag-less or `latest` reference changes under a running stack at the next pull."""

from __future__ import annotations

from typing import Optional

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from .workloads import DOCKER_CONTAINER, DOCKER_IMAGE, pod_containers


def pin_problem(reference: str) -> Optional[str]:
    """Why an image reference is not pinned, or None. Digests and image IDs are pinned."""
    if reference.startswith("sha256:") or "@sha256:" in reference:
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (Docker pulls latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the moving tag latest"
    return None


def _references(args: ResourceValidationArgs):
    if args.resource_type == DOCKER_IMAGE:
        yield args.name, args.props.get("name")
    elif args.resource_type == DOCKER_CONTAINER:
        yield args.name, args.props.get("image")
    else:
        for container in pod_containers(args.resource_type, args.props):
            yield f"{args.name}: container {container.name}", container.spec.get("image")


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    for where, reference in _references(args):
        problem = pin_problem(reference) if reference else "has no image"
        if problem:
            report_violation(
                f"{where}: image {reference!r} {problem}: pin a release tag (repo:1.2.3) or a digest "
                "(repo@sha256:...), such as glitchtip.version or glitchtip.postgresImage")


POLICY = ResourceValidationPolicy(
    name="pinned-images",
    description="Every image is pinned to a release tag or a digest: no tag-less image, no latest.",
    validate=_validate,
)
