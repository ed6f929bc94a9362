"""examples/app-stack, the application stack that consumes the tracker's DSNs, run under Pulumi mocks:
the mocks play the tracker's stack (its `dsns` output is secret, as the program exports it)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from policy.error_tracking_policy import POLICIES
from tests import secret_values
from tests.test_policy_pack import violations

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "app-stack"
DSNS = {"api": "https://0123456789abcdef@errors.example.com/1",
        "web": "https://fedcba9876543210@errors.example.com/2"}
IMAGE = "registry.example.com/shop/api:1.4.2"


class TrackerMocks(pulumi.runtime.Mocks):
    """Echo inputs back; a StackReference reads the tracker's outputs, `dsns` among its secret ones."""

    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            outputs = {"url": "https://errors.example.com", "dsns": DSNS, "adminPassword": "x" * 24}
            return args.name, {"name": args.inputs["name"], "outputs": outputs,
                               "secretOutputNames": ["adminPassword", "dsns"]}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def run_example(**config: str) -> TrackerMocks:
    mocks = TrackerMocks()
    pulumi.runtime.set_mocks(mocks, project="shop-api", stack="dev", preview=False)
    pulumi.runtime.set_all_config({f"shop-api:{key}": value for key, value in config.items()}, [])

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")

    program()
    return mocks


def only(mocks: TrackerMocks, typ: str) -> pulumi.runtime.MockResourceArgs:
    [found] = [r for r in mocks.created if r.typ == typ]
    return found


def test_the_docker_variant_reads_the_dsn_by_stack_reference_and_keeps_it_secret():
    mocks = run_example(image=IMAGE, trackerStack="organization/error-tracking/prod")
    assert only(mocks, "pulumi:pulumi:StackReference").inputs["name"] == "organization/error-tracking/prod"
    container = only(mocks, "docker:index/container:Container")
    envs = container.inputs["envs"]
    assert secret_values.is_wrapped_secret(envs), "the DSN reached the container's env in plain text"
    assert secret_values.unwrap(envs) == [f"SENTRY_DSN={DSNS['api']}"]
    assert container.inputs["image"] == IMAGE


def test_the_configured_project_decides_which_dsn_the_application_gets():
    container = only(run_example(image=IMAGE, project="web"), "docker:index/container:Container")
    assert secret_values.unwrap(container.inputs["envs"]) == [f"SENTRY_DSN={DSNS['web']}"]


def test_the_kubernetes_variant_reads_the_delivered_secret_and_never_the_value():
    mocks = run_example(image=IMAGE, platform="kubernetes", namespace="shop", dsnSecret="api-dsn")
    assert not [r for r in mocks.created if r.typ == "pulumi:pulumi:StackReference"]
    deployment = only(mocks, "kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"]["namespace"] == "shop"
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "SENTRY_DSN",
                                 "valueFrom": {"secretKeyRef": {"name": "api-dsn", "key": "SENTRY_DSN"}}}]


@pytest.mark.parametrize("platform", ["docker", "kubernetes"])
def test_the_example_keeps_the_policy_packs_promises(platform):
    mocks = run_example(image=IMAGE, platform=platform)
    found: list[str] = []
    for resource in mocks.created:
        for policy in POLICIES:
            found += violations(policy, resource.typ, secret_values.unwrap(resource.inputs), name=resource.name)
    assert found == []


def test_without_settings_the_example_uses_the_defaults_its_pulumi_yaml_declares():
    declared: dict[str, Any] = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())["config"]
    mocks = run_example(image=IMAGE)
    assert only(mocks, "pulumi:pulumi:StackReference").inputs["name"] == declared["trackerStack"]["default"]
    container = only(mocks, "docker:index/container:Container")
    assert secret_values.unwrap(container.inputs["envs"]) == [f"SENTRY_DSN={DSNS[declared['project']['default']]}"]
    assert declared["platform"]["default"] == "docker" and "default" not in declared["image"]
