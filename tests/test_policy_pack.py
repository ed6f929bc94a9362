"""The CrossGuard pack in policy/: each policy refuses a bad resource with a message naming the fix,
passes everything this program declares for the real stacks (with their policy config), and
refuses the program's own resource once the promise it guards is broken in it.

Policies are called the way the engine calls them, through `validate(ResourceValidationArgs, report)`
built from the package's own classes; only the transport (gRPC) is left out.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi_policy
import pytest
import yaml
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from policy.error_tracking_policy import (
    POLICIES, exposure, images, ingress, limits, plain_secrets, pods, volumes,
)
from policy.error_tracking_policy.workloads import (
    CONFIG_MAP, DOCKER_CONTAINER, DOCKER_IMAGE, DOCKER_VOLUME, INGRESS, PVC,
)
from tests import harness

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRON_JOB = "kubernetes:batch/v1:CronJob"


def violations(policy, resource_type: str, props: dict, *, name: str = "res", protect: bool = False,
               config: Optional[dict] = None) -> list[str]:
    options = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(resource_type, props, f"urn:pulumi:test::error-tracking::{resource_type}::{name}",
                                  name, options, None, config or {})
    found: list[str] = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def pod(container: dict, pod_security: Optional[dict] = None) -> dict:
    return {"spec": {"template": {"spec": {"containers": [container], "securityContext": pod_security or {}}}}}


GOOD_CONTAINER = {
    "name": "web", "image": "glitchtip/glitchtip:6.2.6",
    "resources": {"limits": {"memory": "256Mi"}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False},
}


def test_the_pack_serves_every_policy_as_mandatory(monkeypatch):
    served: dict = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **pack: served.update(pack))
    monkeypatch.syspath_prepend(str(ROOT / "policy"))  # as the engine runs it: from the pack's directory
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert served["name"] == "error-tracking"
    assert served["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    package = importlib.import_module("policy.error_tracking_policy")
    written = [getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "POLICY", None)
               for module in pkgutil.iter_modules(package.__path__)]
    names = sorted(p.name for p in written if p is not None)
    assert sorted(p.name for p in served["policies"]) == names and len(set(names)) == len(names)


@pytest.mark.parametrize("config_file", sorted((ROOT / "policy" / "config").glob("*.json")), ids=lambda p: p.name)
def test_policy_config_files_name_real_policies_and_settings(config_file):
    schemas = {p.name: (p.config_schema.properties if p.config_schema else {}) for p in POLICIES}
    for name, settings in json.loads(config_file.read_text()).items():
        assert name in schemas, f"{config_file.name}: no policy {name}"
        unknown = set(settings) - set(schemas[name]) - {"enforcementLevel"}
        assert not unknown, f"{config_file.name}: {name} has no setting {sorted(unknown)}"


# --- (a) each policy against a bad example: refused, and the message says what to change ----------

@pytest.mark.parametrize("ports, config, fix", [
    ([{"internal": 8000, "external": 8000}], {}, "docker.bindAddress"),
    ([{"internal": 8000, "external": 8000, "ip": "0.0.0.0"}], {}, "allowedBindAddresses"),
    ([{"internal": 8000, "external": 8000, "ip": "203.0.113.7"}], {"allowedBindAddresses": ["10.0.0.5"]},
     "10.0.0.5"),
])
def test_a_port_beyond_the_allowed_addresses_is_refused(ports, config, fix):
    found = violations(exposure.POLICY, DOCKER_CONTAINER, {"ports": ports}, config=config)
    assert len(found) == 1 and fix in found[0]


def test_ports_on_allowed_addresses_pass_and_host_networking_does_not():
    loopback = {"ports": [{"internal": 8000, "external": 8080, "ip": "127.0.0.1"}]}
    assert violations(exposure.POLICY, DOCKER_CONTAINER, loopback) == []
    everywhere = {"ports": [{"internal": 8000, "external": 8080, "ip": "0.0.0.0"}]}
    assert violations(exposure.POLICY, DOCKER_CONTAINER, everywhere, config={"allowedBindAddresses": ["0.0.0.0"]}) \
        == []
    [message] = violations(exposure.POLICY, DOCKER_CONTAINER, {"networkMode": "host"})
    assert "drop network_mode host" in message


def test_a_container_without_a_memory_limit_is_refused_on_both_platforms():
    [docker] = violations(limits.POLICY, DOCKER_CONTAINER, {"image": "x:1", "memory": 0})
    assert "set `memory`" in docker
    unlimited = {**GOOD_CONTAINER, "resources": {"requests": {"memory": "64Mi"}}}
    [k8s] = violations(limits.POLICY, CRON_JOB, {"spec": {"jobTemplate": pod(unlimited)}})
    assert "resources.limits.memory" in k8s
    assert violations(limits.POLICY, DEPLOYMENT, pod(GOOD_CONTAINER)) == []


@pytest.mark.parametrize("reference, pinned", [
    ("glitchtip/glitchtip:6.2.6", True),
    ("registry.example.com:5000/team/app:1.4", True),
    ("postgres@sha256:" + "a" * 64, True),
    ("sha256:" + "b" * 64, True),  # a RemoteImage's image_id
    ("glitchtip/glitchtip", False),
    ("registry.example.com:5000/team/app", False),
    ("valkey/valkey:latest", False),
])
def test_only_tagged_or_digest_pinned_images_pass(reference, pinned):
    found = violations(images.POLICY, DOCKER_IMAGE, {"name": reference})
    assert (found == []) is pinned
    if not pinned:
        assert "pin a release tag" in found[0]


@pytest.mark.parametrize("data, fix", [
    ({"SECRET_KEY": "abc"}, "move it into a Secret"),
    ({"AWS_SECRET_ACCESS_KEY": "abc"}, "move it into a Secret"),
    ({"GITHUB_TOKEN": "abc"}, "move it into a Secret"),
    ({"EMAIL_URL": "smtp+tls://mailer:hunter2@smtp.example.com:587"}, "a URL with a password"),
    ({"VALKEY_URL": "redis://:hunter2@valkey:6379/0"}, "a URL with a password"),
])
def test_a_secret_in_a_configmap_is_refused(data, fix):
    [message] = violations(plain_secrets.POLICY, CONFIG_MAP, {"data": data})
    assert fix in message


def test_paths_plain_settings_and_allowed_names_pass_the_secret_check():
    data = {"SECRET_KEY_FILE": "/run/secrets/key", "GLITCHTIP_DOMAIN": "https://errors.example.com",
            "BOOTSTRAP_API_TOKEN_LABEL": "iac", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "DATABASE_URL": "postgres://glitchtip@postgres:5432/glitchtip", "VALKEY_URL": ""}
    assert violations(plain_secrets.POLICY, CONFIG_MAP, {"data": data}) == []
    assert violations(plain_secrets.POLICY, CONFIG_MAP, {"data": {"API_KEY": "x"}},
                      config={"allowedNames": ["API_KEY"]}) == []


def test_a_secret_as_a_plain_env_value_is_refused_but_a_secret_reference_passes():
    plain = {**GOOD_CONTAINER, "env": [{"name": "DATABASE_PASSWORD", "value": "hunter2"}]}
    [message] = violations(plain_secrets.POLICY, DEPLOYMENT, pod(plain))
    assert "valueFrom.secretKeyRef" in message
    referenced = {**GOOD_CONTAINER, "env": [
        {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}
    assert violations(plain_secrets.POLICY, DEPLOYMENT, pod(referenced)) == []


@pytest.mark.parametrize("security, pod_security, fix", [
    ({"allowPrivilegeEscalation": False}, {}, "runAsNonRoot: true"),
    ({"runAsUser": 0, "allowPrivilegeEscalation": False}, {"runAsNonRoot": True}, "runAsNonRoot: true"),
    ({"runAsNonRoot": True}, {}, "allowPrivilegeEscalation: false"),
    ({"runAsUser": 1000, "privileged": True, "allowPrivilegeEscalation": False}, {}, "drop securityContext.privileged"),
])
def test_a_pod_that_may_run_as_root_or_escalate_is_refused(security, pod_security, fix):
    container = {**GOOD_CONTAINER, "securityContext": security}
    found = violations(pods.POLICY, DEPLOYMENT, pod(container, pod_security))
    assert found and fix in found[0] and "rootImages" in found[0]


def test_pod_level_non_root_counts_and_listed_root_images_are_exempt():
    inherits = {**GOOD_CONTAINER, "securityContext": {"allowPrivilegeEscalation": False}}
    assert violations(pods.POLICY, DEPLOYMENT, pod(inherits, {"runAsNonRoot": True})) == []
    root = {**GOOD_CONTAINER, "image": "docker.io/library/postgres:18.4", "securityContext": {}}
    assert violations(pods.POLICY, DEPLOYMENT, pod(root)) != []
    assert violations(pods.POLICY, DEPLOYMENT, pod(root), config={"rootImages": ["docker.io/library/postgres"]}) == []


def test_an_ingress_without_tls_for_its_host_is_refused():
    rules = [{"host": "errors.example.com"}]
    [bare] = violations(ingress.POLICY, INGRESS, {"spec": {"rules": rules}})
    assert "kubernetes.ingress.clusterIssuer" in bare
    [other] = violations(ingress.POLICY, INGRESS, {"spec": {"rules": rules, "tls": [{"hosts": ["x.example.com"]}]}})
    assert "errors.example.com" in other
    covered = {"spec": {"rules": rules, "tls": [{"hosts": ["errors.example.com"], "secretName": "tls"}]}}
    assert violations(ingress.POLICY, INGRESS, covered) == []


@pytest.mark.parametrize("resource_type", [DOCKER_VOLUME, PVC])
def test_an_unprotected_data_volume_is_refused_only_where_the_stack_requires_protect(resource_type):
    [message] = violations(volumes.POLICY, resource_type, {}, config={"requireProtect": True})
    assert "error-tracking:protect true" in message
    assert violations(volumes.POLICY, resource_type, {}, protect=True, config={"requireProtect": True}) == []
    assert violations(volumes.POLICY, resource_type, {}) == []


# --- (b) the program's own resources, for the real stacks with their policy config ---------------

@dataclass
class Seen:
    """One declared resource as a policy sees it."""

    typ: str
    props: dict
    name: str
    protect: bool


def seen(record) -> Seen:
    """The one adapter from a harness record to what a policy sees: plain inputs (the engine hands a
    policy secrets unwrapped) and the `protect` option."""
    return Seen(record.typ, record.inputs, record.name, bool(record.options.get("protect")))


STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, Any]:
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in values.items()}


def pack_config(stack: str) -> dict[str, dict]:
    return json.loads((ROOT / "policy" / "config" / f"{stack}.json").read_text())


@pytest.fixture(scope="module")
def declared() -> dict[str, list[Seen]]:
    return {stack: [seen(r) for r in harness.deploy(stack_config(stack)).declared] for stack in STACKS}


def run_pack(resources, config) -> list[str]:
    found = []
    for r in resources:
        for policy in POLICIES:
            found += violations(policy, r.typ, r.props, name=r.name, protect=r.protect, config=config.get(policy.name))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_a_policy_config_and_asks_protect_exactly_where_it_sets_protect(stack):
    require = pack_config(stack).get("data-volumes-protected", {}).get("requireProtect", False)
    assert require == (str(stack_config(stack).get("protect", False)).lower() == "true")


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_own_resources_pass_the_pack(declared, stack):
    assert run_pack(declared[stack], pack_config(stack)) == []


def _first(resources: list[Seen], typ: str, where: Callable[[dict], bool]) -> Seen:
    return next(copy.deepcopy(r) for r in resources if r.typ == typ and where(r.props))


def _web_container(props):
    return props["spec"]["template"]["spec"]["containers"][0]


# policy -> (stack, type, which resource, how to break the promise in it)
BREAKS: dict[str, tuple[str, str, Callable[[dict], bool], Callable[[Seen], Any]]] = {
    "docker-ports-on-allowed-addresses": ("dev", DOCKER_CONTAINER, lambda p: bool(p.get("ports")),
                                          lambda r: r.props["ports"][0].update(ip="0.0.0.0")),
    "memory-limit-on-every-container": ("dev", DOCKER_CONTAINER, lambda p: True, lambda r: r.props.pop("memory")),
    "pinned-images": ("prod", DEPLOYMENT, lambda p: True,
                      lambda r: _web_container(r.props).update(image=_web_container(r.props)["image"].split(":")[0])),
    "no-secrets-in-plain-config": ("prod", CONFIG_MAP, lambda p: bool(p.get("data")),
                                   lambda r: r.props["data"].update(SECRET_KEY="0123456789abcdef")),
    "kubernetes-pods-run-as-non-root": ("prod", DEPLOYMENT, lambda p: True,
                                        lambda r: _web_container(r.props).setdefault("securityContext", {}).update(
                                            runAsUser=0)),
    "ingress-serves-tls": ("prod", INGRESS, lambda p: True, lambda r: r.props["spec"].pop("tls")),
    "data-volumes-protected": ("prod", PVC, lambda p: True, lambda r: setattr(r, "protect", False)),
}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_each_policy_refuses_the_programs_own_resource_once_broken(declared, policy):
    stack, typ, where, breaking = BREAKS[policy.name]
    resource = _first(declared[stack], typ, where)
    config = pack_config(stack).get(policy.name)

    def judged():
        return violations(policy, typ, resource.props, name=resource.name, protect=resource.protect, config=config)

    assert judged() == []
    breaking(resource)
    assert judged() != []
