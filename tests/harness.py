"""Runs the real program under Pulumi mocks and records what it declares.

The mocks play the providers: they echo inputs back as outputs, and for a Docker task container
they report what the real engine would (exit code 0, or the configured failure; and for the
GlitchTip bootstrap, the report line GlitchTip prints, built from the projects the container
was actually given). Nothing here decides what the program declares.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.spec import REPORT_PREFIX

BASE_CONFIG: dict[str, Any] = {
    "app": "glitchtip",
    "platform": "docker",
    "url": "https://errors.example.com",
    "adminEmail": "ops@example.com",
    "organization": "Acme",
    "projects": [{"name": "api", "platform": "python"}, {"name": "web", "platform": "javascript"}],
}


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap(value: Any) -> Any:
    """Mocks hand secret inputs over wrapped as {sig: ..., value: ...}, and integers as floats:
    return the plain value."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_wrapped_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270"


@dataclass
class Declared:
    typ: str
    name: str
    inputs: dict
    provider: Optional[str]


def fake_glitchtip_report(env: list[str], url: str) -> str:
    """What bootstrap_script.py prints in GlitchTip: a DSN per project it was asked for."""
    values = dict(item.split("=", 1) for item in env)
    projects = json.loads(values["BOOTSTRAP_PROJECTS"])
    scheme, rest = url.split("://", 1)
    report = {
        p["name"]: {
            "id": index + 1,
            "slug": p["name"],
            "dsn": f"{scheme}://{uuid.uuid5(uuid.NAMESPACE_URL, p['name']).hex}@{rest.rstrip('/')}/{index + 1}",
        }
        for index, p in enumerate(projects)
    }
    return "Run bootstrap\n" + REPORT_PREFIX + json.dumps({"organization": "acme", "projects": report}) + "\n"


class Mocks(pulumi.runtime.Mocks):
    def __init__(self, url: str, failing_task: Optional[str] = None, preview: bool = False):
        self.url = url
        self.preview = preview
        self.failing_task = failing_task
        self.declared: list[Declared] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.declared.append(Declared(args.typ, args.name, copy.deepcopy(args.inputs), args.provider))
        inputs = unwrap(args.inputs)
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            alphabet = "0123456789abcdef" if args.inputs.get("overrideSpecial") == "abcdef" else "aB3"
            length = int(args.inputs["length"])
            outputs["result"] = (alphabet * length)[:length]
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = f"sha256:{uuid.uuid5(uuid.NAMESPACE_URL, inputs['name']).hex}"
        # In a preview nothing runs: what a container reports when it exits stays unknown.
        if args.typ == "docker:index/container:Container" and inputs.get("attach") and not self.preview:
            task = inputs["name"].rsplit("-", 1)[-1]
            outputs["exitCode"] = 1 if task == self.failing_task else 0
            if inputs.get("logs"):
                outputs["containerLogs"] = fake_glitchtip_report(inputs["envs"], self.url)
        # A read of the Secret the Kubernetes bootstrap Job writes its report into.
        if args.typ == "kubernetes:core/v1:Secret" and args.custom is None and args.resource_id \
                and not self.preview:
            outputs["data"] = {"report": base64.b64encode(self.kubernetes_report().encode()).decode()}
        return f"{args.name}-id", outputs

    def kubernetes_report(self) -> str:
        for declared in self.declared:
            data = unwrap(declared.inputs.get("data") or {})
            if declared.typ == "kubernetes:core/v1:ConfigMap" and "BOOTSTRAP_PROJECTS" in data:
                line = fake_glitchtip_report([f"{k}={v}" for k, v in data.items()], self.url)
                return line.splitlines()[-1]
        raise AssertionError("no bootstrap ConfigMap was declared before the report was read")

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@dataclass
class Deployment:
    declared: list[Declared]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Declared]:
        return [d for d in self.declared if d.typ == typ]

    def containers(self) -> dict[str, Declared]:
        return {d.inputs["name"]: d for d in self.of_type("docker:index/container:Container")}

    def named(self, name: str) -> Declared:
        matches = [d for d in self.declared if d.name == name]
        assert len(matches) == 1, f"{name}: {len(matches)} resources"
        return matches[0]


def config_values(config: dict[str, Any]) -> dict[str, str]:
    return {
        f"error-tracking:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }


def deploy(overrides: Optional[dict[str, Any]] = None, *, preview: bool = False,
           failing_task: Optional[str] = None, drop: tuple[str, ...] = ()) -> Deployment:
    """Run components.program.run() under mocks with BASE_CONFIG plus `overrides`."""
    from components import program

    config = {**BASE_CONFIG, **(overrides or {})}
    for key in drop:
        config.pop(key, None)
    mocks = Mocks(config.get("url", ""), failing_task, preview)
    pulumi.runtime.set_mocks(mocks, project="error-tracking", stack="test", preview=preview)
    pulumi.runtime.set_all_config(config_values(config), [])
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    holder: dict[str, Any] = {}

    def body():
        holder["stack"] = program.run()

    _sync_await(run_pulumi_func(body))
    deployment = Deployment(declared=mocks.declared)
    stack = holder["stack"]
    for name, output in {
        "url": stack.url, "adminEmail": stack.admin_email, "adminPassword": stack.admin_password,
        "dsns": stack.dsns, "dsnDeliveries": stack.deliveries,
    }.items():
        deployment.outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            deployment.secret_outputs.add(name)
    return deployment


def env_of(container: Declared) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unwrap(container.inputs.get("envs", [])))
