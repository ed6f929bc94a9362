"""Stable names: one type-token scheme, children named after their component, renames aliased.

Operators' stacks must survive upgrades: a child's URN derives from its parent's type and its own
name, so both follow one rule, and a renamed type ships with an alias to the old one.
"""

import re

import pytest

from tests.harness import deploy

TYPE = re.compile(r"^error-tracking:(index|apps|platforms):[A-Z][A-Za-z]+$")


K8S = {"platform": "kubernetes", "kubernetes": {"sharedStorageClass": "nfs-rwx",
                                                "ingress": {"controllerNamespace": "ingress-nginx"}}}


@pytest.fixture(scope="module", params=[{}, K8S, {"app": "sentry"}])
def deployment(request):
    return deploy(request.param)


def components(deployment):
    return {d.urn: d for d in deployment.declared if d.typ.startswith("error-tracking:")}


def test_every_component_type_follows_one_scheme(deployment):
    assert components(deployment)
    for component in components(deployment).values():
        assert TYPE.match(component.typ), component.typ


def test_children_of_apps_and_platforms_are_named_after_their_component(deployment):
    owners = {urn: d for urn, d in components(deployment).items() if ":index:" not in d.typ}
    children = [d for d in deployment.declared if d.parent in owners]
    assert children
    for child in children:
        assert child.name.startswith(owners[child.parent].name + "-"), (child.name, owners[child.parent].name)


def test_the_renamed_kubernetes_platform_type_keeps_its_old_urns_through_an_alias():
    platform = next(d for d in deploy(K8S).declared
                    if d.typ == "error-tracking:platforms:Kubernetes")
    assert "error-tracking:platform:Kubernetes" in platform.options["aliases"]
