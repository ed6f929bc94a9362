"""Runs the real program (or one platform) under Pulumi mocks and records what it declares.

One harness for both platforms, on Pulumi's public mocks API: `pulumi.runtime.test` runs the
program; a MockMonitor subclass passed to `set_mocks(monitor=...)` sees each registration as the
engine would, with its parent, dependencies and options (protect, retainOnDelete, aliases...),
and its inputs exactly as serialized, so a value is recorded as secret only if the program made
it secret. The providers are played by tests/mock_providers.py; how secrets look on the wire is
tests/secret_values.py. Nothing here decides what the program declares.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from tests.mock_providers import Mocks
from tests.secret_values import is_wrapped_secret, unwrap

BASE_CONFIG: dict[str, Any] = {
    "app": "glitchtip",
    "platform": "docker",
    "url": "https://errors.example.com",
    "adminEmail": "ops@example.com",
    "organization": "Acme",
    "projects": [{"name": "api", "platform": "python"}, {"name": "web", "platform": "javascript"}],
}

@dataclass
class Declared:
    typ: str
    name: str
    raw: dict  # inputs as the engine received them (secrets wrapped)
    urn: str = ""
    parent: str = ""
    provider: str = ""
    dependencies: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    read: bool = False
    resource_id: str = ""

    @property
    def inputs(self) -> dict:
        return unwrap(self.raw)

    def secret(self, key: str) -> bool:
        return is_wrapped_secret(self.raw.get(key))

    # Kubernetes helpers ------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.typ.split(":")[-1]

    @property
    def object_name(self) -> str:
        return self.inputs.get("metadata", {}).get("name", "")

    def manifest(self) -> dict:
        _, group_version, kind = self.typ.split(":")
        group, version = group_version.split("/")
        groups = {"core": "", "networking": "networking.k8s.io", "rbac": "rbac.authorization.k8s.io"}
        group = groups.get(group, group)
        api_version = f"{group}/{version}" if group else version
        return {"apiVersion": api_version, "kind": kind,
                **{k: v for k, v in self.inputs.items() if k not in ("apiVersion", "kind")}}


class Recorder(MockMonitor):
    """A MockMonitor that records every registration with its options, as the engine sees them."""

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.declared: list[Declared] = []

    def _record(self, request, read: bool, urn: str) -> None:
        raw = rpc.deserialize_properties(request.properties if read else request.object, keep_unknowns=True)
        options = {} if read else {
            "protect": request.protect,
            "retain_on_delete": request.retainOnDelete,
            "ignore_changes": list(request.ignoreChanges),
            "additional_secret_outputs": list(request.additionalSecretOutputs),
            "aliases": [a.spec.type or a.spec.name for a in request.aliases] + list(request.aliasURNs),
            "custom_timeouts": request.customTimeouts.create or None,
        }
        self.declared.append(Declared(
            typ=request.type, name=request.name, raw=_plain_dict(raw), urn=urn, parent=request.parent,
            provider=request.provider, dependencies=list(request.dependencies), options=options, read=read,
            resource_id=request.id if read else "",
        ))

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, False, response.urn)
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self._record(request, True, response.urn)
        return response


def _plain_dict(value: Any) -> Any:
    """Protobuf-decoded values as plain Python (unknowns kept as a marker string)."""
    if isinstance(value, dict):
        return {k: _plain_dict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_dict(v) for v in value]
    if isinstance(value, Unknown):
        return "<unknown>"
    return value


@dataclass
class Deployment:
    declared: list[Declared]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    known_outputs: set[str] = field(default_factory=set)
    result: Any = None

    def of_type(self, typ: str) -> list[Declared]:
        return [d for d in self.declared if d.typ == typ and not d.read]

    def named(self, name: str) -> Declared:
        matches = [d for d in self.declared if d.name == name and not d.read]
        assert len(matches) == 1, f"{name}: {len(matches)} resources"
        return matches[0]

    def by_urn(self, urn: str) -> Declared:
        return next(d for d in self.declared if d.urn == urn)

    def depends_on(self, resource: Declared) -> list[Declared]:
        return [d for d in self.declared if d.urn in resource.dependencies]

    # Docker ------------------------------------------------------------------------------
    def containers(self) -> dict[str, Declared]:
        return {d.inputs["name"]: d for d in self.of_type("docker:index/container:Container")}

    # Kubernetes --------------------------------------------------------------------------
    def k8s(self) -> list[Declared]:
        """Every Kubernetes object the program would apply (not the provider, not reads)."""
        return [d for d in self.declared if d.typ.startswith("kubernetes:") and not d.read]

    def of_kind(self, kind: str) -> list[Declared]:
        return [d for d in self.k8s() if d.kind == kind]

    def one(self, kind: str, name: str) -> Declared:
        found = [d for d in self.of_kind(kind) if d.object_name == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {[d.object_name for d in self.of_kind(kind)]}"
        return found[0]

    def reads(self) -> list[Declared]:
        """What the program reads back from a cluster (not StackReferences to its own last deployment)."""
        return [d for d in self.declared if d.read and d.typ.startswith("kubernetes:")]


@contextlib.contextmanager
def own_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop for code that makes Outputs outside a deployment (they belong to the loop they were
    made on). Afterwards a new current loop, never none: Pulumi's test runner needs one."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(asyncio.new_event_loop())


def config_values(config: dict[str, Any]) -> dict[str, str]:
    return {
        f"error-tracking:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }


def _no_stack_trace():
    """The SDK walks the Python stack at every registration to tell the engine where the resource
    was declared (for its messages); the mocks record no position, and the walk costs a tenth of a
    deployment's time, so the harness sends an empty trace."""
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def run(program: Callable[[], Any], *, config: Optional[dict] = None, secret_keys=(), preview: bool = False,
        mocks: Optional[Mocks] = None, outputs: Callable[[Any], dict] = lambda result: {}) -> Deployment:
    """Run `program` under fresh mocks; `outputs(result)` names the Outputs to await and report."""
    from pulumi.runtime import resource as sdk_resource

    sdk_resource._get_stack_trace = _no_stack_trace
    mocks = mocks or Mocks(preview=preview)
    monitor = Recorder(mocks)
    pulumi.runtime.set_mocks(mocks, project="error-tracking", stack="test", preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config_values(config or {}), [f"error-tracking:{k}" for k in secret_keys])
    deployment = Deployment(declared=monitor.declared)

    @pulumi.runtime.test
    def body():
        result = program()
        deployment.result = result
        awaited = outputs(result)

        async def facts(name: str, output: pulumi.Output):
            """Each output on its own: its secret-ness, whether it is known, and then its value."""
            if await output.is_secret():
                deployment.secret_outputs.add(name)
            if await output.is_known():
                deployment.known_outputs.add(name)
                deployment.outputs[name] = await output.future()

        return pulumi.Output.all(*[pulumi.Output.from_input(facts(n, o)) for n, o in awaited.items()])

    try:
        body()
    except BaseException:
        # A refused deployment leaves futures holding its exception; collected later, their
        # finalizers log from inside whatever runs then. Under CPython 3.11.7 that can be
        # ast.parse in another test, which then fails with "AST constructor recursion depth
        # mismatch" (python/cpython#106905, fixed in 3.11.8): collect them here instead.
        gc.collect()
        raise
    return deployment


# Deployments already run in this test session, by everything that defines them: the program is
# deterministic (tests/test_glitchtip_on_docker.py proves two runs alike), so a test that asks for
# the same configuration reads the same records instead of waiting for Pulumi again.
_RUNS: dict[str, Deployment] = {}


def deploy(overrides: Optional[dict[str, Any]] = None, *, preview: bool = False, secret_keys=(),
           failing_task: Optional[str] = None, drop: tuple[str, ...] = (), previous: Optional[dict] = None,
           fresh: bool = False, claims: Optional[dict] = None) -> Deployment:
    """Run components.program.run() under mocks with BASE_CONFIG plus `overrides`; the stack's
    exported outputs are awaited and reported with their secret-ness. `fresh`: run it again even
    if this session ran the same configuration (tests that compare two runs)."""
    from components import program

    config = {**BASE_CONFIG, **(overrides or {})}
    for key in drop:
        config.pop(key, None)
    key = json.dumps([config, preview, sorted(secret_keys), failing_task, previous, claims], sort_keys=True)
    if key in _RUNS and not fresh:
        return _RUNS[key]
    root = pulumi.runtime.get_root_resource()
    if root is not None:
        root.outputs.clear()  # the root stack outlives set_mocks; keep only this run's exports

    def exported(_):
        return dict(pulumi.runtime.get_root_resource().outputs)

    deployment = run(program.run, config=config, secret_keys=secret_keys, preview=preview,
                     mocks=Mocks(config.get("url", ""), failing_task, preview, previous=previous, claims=claims),
                     outputs=exported)
    _RUNS[key] = deployment
    return deployment


def env_of(container: Declared) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs.get("envs", []))
