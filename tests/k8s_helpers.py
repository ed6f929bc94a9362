"""Runs the Kubernetes platform under Pulumi mocks and turns what it declares into manifests.

The mocks echo inputs back as outputs (as a cluster would accept them), record each resource's
declared dependencies, and answer a read of a report Secret the way the reporting Job leaves it.
A synthetic AppSpec stands in for any app, so these tests do not depend on GlitchTip.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime.mocks import MockMonitor

from components.plugins import PlatformArgs
from components.settings import DsnTarget, KubernetesSecretTarget
from components.spec import (
    REPORT_PREFIX,
    AppSpec,
    CommandProbe,
    Entrypoint,
    HealthCheck,
    HttpProbe,
    Mount,
    Port,
    Resources,
    ScheduledTask,
    Service,
    Task,
    Volume,
)
from components.validation import Problems, Section
from tests.harness import SECRET_SIG, unwrap  # noqa: F401  (shared by the Kubernetes tests)

SECRET_VALUES = ("s3cr3t-key-value", "pg-pass-123", "admin-pass-456", "https://k3y@errors.example.com/1")
REPORT_JSON = '{"dsns": {"api": "https://k3y@errors.example.com/1"}}'
IMAGE = "example/app:1.0.0"


def api_version(typ: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment")."""
    _, group_version, kind = typ.split(":")
    group, version = group_version.split("/")
    groups = {"core": "", "networking": "networking.k8s.io", "rbac": "rbac.authorization.k8s.io"}
    group = groups.get(group, group)
    return (f"{group}/{version}" if group else version), kind


@dataclass
class Declared:
    typ: str
    name: str
    inputs: dict
    raw: dict
    urn: str = ""
    dependencies: list = field(default_factory=list)
    read: bool = False
    provider: str = ""
    parent: str = ""
    resource_id: str = ""

    @property
    def kind(self) -> str:
        return self.typ.split(":")[-1]

    @property
    def object_name(self) -> str:
        return self.inputs.get("metadata", {}).get("name", "")

    def manifest(self) -> dict:
        version, kind = api_version(self.typ)
        manifest = {"apiVersion": version, "kind": kind}
        for key, value in self.inputs.items():
            if key not in ("apiVersion", "kind"):
                manifest[key] = value
        assert self.inputs.get("apiVersion") in (None, version), (self.typ, self.inputs.get("apiVersion"))
        assert self.inputs.get("kind") in (None, kind)
        return manifest


class Mocks(pulumi.runtime.Mocks):
    def __init__(self, report: Optional[str] = REPORT_PREFIX + REPORT_JSON):
        self.declared: list[Declared] = []
        self.report = report

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        # A read (`Resource.get`) comes without `custom`; a registration always has it.
        read = args.custom is None and bool(args.resource_id)
        self.declared.append(Declared(args.typ, args.name, unwrap(args.inputs), args.inputs, read=read,
                                      provider=args.provider or "", resource_id=args.resource_id or ""))
        state = dict(args.inputs)
        if read and args.typ == "kubernetes:core/v1:Secret" and self.report is not None:
            state["data"] = {"report": base64.b64encode(self.report.encode()).decode()}
        return [f"{args.name}-id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps each registration's URN and declared dependencies."""

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.dependencies: dict[tuple[str, str], list[str]] = {}
        self.urns: dict[tuple[str, str], str] = {}
        self.parents: dict[tuple[str, str], str] = {}

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self.dependencies[(request.type, request.name)] = list(request.dependencies)
        self.urns[(request.type, request.name)] = response.urn
        self.parents[(request.type, request.name)] = request.parent
        return response

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.dependencies[(request.type, request.name)] = list(request.dependencies)
        self.urns[(request.type, request.name)] = self.make_urn(request.parent, request.type, request.name)
        self.parents[(request.type, request.name)] = request.parent
        return response


@dataclass
class Deployment:
    declared: list[Declared]
    platform: Any
    report: Any
    report_known: bool
    report_secret: bool

    def k8s(self) -> list[Declared]:
        """Every Kubernetes object the program would apply (not the provider, not reads)."""
        return [d for d in self.declared if d.typ.startswith("kubernetes:") and not d.read]

    def of_kind(self, kind: str) -> list[Declared]:
        return [d for d in self.k8s() if d.kind == kind]

    def one(self, kind: str, name: str) -> Declared:
        found = [d for d in self.of_kind(kind) if d.object_name == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {[d.object_name for d in self.of_kind(kind)]}"
        return found[0]

    def by_urn(self, urn: str) -> Declared:
        return next(d for d in self.declared if d.urn == urn)

    def depends_on(self, resource: Declared) -> list[Declared]:
        return [d for d in self.declared if d.urn in resource.dependencies]

    def provider(self) -> Declared:
        return next(d for d in self.declared if d.typ == "pulumi:providers:kubernetes")

    def reads(self) -> list[Declared]:
        return [d for d in self.declared if d.read]


def containers(manifest_or_declared: Any) -> list[dict]:
    """Every container of a workload object, wherever its pod template sits."""
    inputs = manifest_or_declared.inputs if isinstance(manifest_or_declared, Declared) else manifest_or_declared
    spec = inputs.get("spec", {})
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec", {}).get("containers", [])


def pod_spec(declared: Declared) -> dict:
    spec = declared.inputs["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


# --- a synthetic app -------------------------------------------------------------------------

def sample_spec(*, with_postgres: bool = True, image: str = IMAGE) -> AppSpec:
    small = Resources(memory_mb=512, cpu=0.5, memory_request_mb=256, cpu_request=0.25)
    db = ("postgres",) if with_postgres else ()
    database_url = "postgres://app:pg-pass-123@postgres:5432/app"
    app_env = {"PORT": "8000", "GLITCHTIP_DOMAIN": "https://errors.example.com"}
    app_secrets = {"SECRET_KEY": pulumi.Output.secret("s3cr3t-key-value"), "DATABASE_URL": database_url}
    web = Service(
        name="web", image=image, resources=small, command=("./bin/start.sh",),
        env={**app_env, "SERVER_ROLE": "web"}, secret_env=app_secrets,
        mounts=(Mount("uploads", "/code/uploads"),), depends_on=(*db, "valkey"), after=("migrate",),
        run_as_user=5000, run_as_group=5000, ports=(Port(8000),),
        health=HealthCheck(HttpProbe("/_health/", 8000, command=("curl", "-f", "http://localhost:8000/_health/"))),
        scalable=True,
    )
    worker = Service(
        name="worker", image=image, resources=Resources(memory_mb=1024, cpu=1.0),
        command=("./bin/run-worker.sh",), env={**app_env, "SERVER_ROLE": "worker"}, secret_env=app_secrets,
        mounts=(Mount("uploads", "/code/uploads"),), depends_on=(*db, "valkey"), after=("migrate",),
        run_as_user=5000, run_as_group=5000,
        health=HealthCheck(CommandProbe(("test", "-f", "/tmp/worker_health"))), scalable=True,
    )
    valkey = Service(
        name="valkey", image="valkey/valkey:8.1", resources=Resources(memory_mb=256, cpu=0.25),
        ports=(Port(6379, "valkey"),), run_as_user=999, run_as_group=999,
        health=HealthCheck(CommandProbe(("valkey-cli", "ping")), interval_seconds=5),
    )
    services = [web, worker, valkey]
    volumes = [Volume("uploads", 5, shared=True), Volume("backups", 20)]
    if with_postgres:
        services.append(Service(
            name="postgres", image="postgres:17.5", resources=Resources(memory_mb=1024, cpu=1.0),
            env={"PGDATA": "/var/lib/postgresql/data/pgdata", "POSTGRES_USER": "app"},
            secret_env={"POSTGRES_PASSWORD": "pg-pass-123"},
            mounts=(Mount("pgdata", "/var/lib/postgresql/data"),), ports=(Port(5432, "postgres"),),
            health=HealthCheck(CommandProbe(("pg_isready", "-U", "app")), start_period_seconds=60),
            stateful=True, run_as_user=999, run_as_group=999,
        ))
        volumes.append(Volume("pgdata", 10))
    migrate = Task(
        name="migrate", image=image, resources=small, command=("./bin/run-migrate.sh",),
        env=app_env, secret_env=app_secrets, depends_on=(*db, "valkey"), run_as_user=5000, run_as_group=5000,
    )
    bootstrap = Task(
        name="bootstrap", image=image, resources=small, command=("python3", "manage.py", "bootstrap"),
        env=app_env, secret_env={**app_secrets, "ADMIN_PASSWORD": pulumi.Output.secret("admin-pass-456")},
        depends_on=(*db,), after=("migrate",), run_as_user=5000, run_as_group=5000, reports=True,
    )
    backup = ScheduledTask(
        name="backup", image="postgres:17.5", resources=Resources(memory_mb=256, cpu=0.25),
        command=("sh", "-c", "pg_dump -Fc > /backups/app-$(date +%F).dump"),
        secret_env={"PGPASSWORD": "pg-pass-123"}, env={"PGHOST": "postgres"},
        mounts=(Mount("backups", "/backups"),), depends_on=db, run_as_user=999, run_as_group=999,
        hour=3, minute=30, health=HealthCheck(CommandProbe(("sh", "-c", "true"))),
    )
    return AppSpec(
        name="demo", version="1.0.0", services=tuple(services), tasks=(migrate, bootstrap),
        volumes=tuple(volumes), entrypoint=Entrypoint("web", 8000, "/_health/"), scheduled=(backup,),
    )


def settings(data: Optional[dict] = None):
    from components.platforms.kubernetes import PLUGIN

    problems = Problems()
    parsed = PLUGIN.parse_settings(Section(data or {}, "error-tracking:kubernetes", problems), problems)
    assert not problems.items, problems.items
    return parsed


DSN_TARGETS = (
    DsnTarget(project="api", kubernetes_secret=KubernetesSecretTarget("shop", "api-sentry", "SENTRY_DSN")),
)


def deploy(
    data: Optional[dict] = None,
    *,
    spec: Optional[AppSpec] = None,
    url: str = "https://errors.example.com",
    preview: bool = False,
    dsn_targets=DSN_TARGETS,
    report_task: Optional[str] = "bootstrap",
) -> Deployment:
    """Declare the platform under fresh mocks; return everything it declared."""
    from components.platforms.kubernetes import PLUGIN

    mocks = Mocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, preview=preview, monitor=monitor)
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        platform = PLUGIN.create("et", PlatformArgs(spec=spec or sample_spec(), settings=settings(data), url=url),
                                 pulumi.ResourceOptions())
        holder["platform"] = platform
        if report_task is None:
            return pulumi.Output.from_input(None)
        output = platform.task_output(report_task)
        for target in dsn_targets:
            platform.deliver_dsn(target.project, target, output.apply(lambda _: "https://k3y@errors.example.com/1"))

        async def facts():
            holder["known"] = await output.is_known()
            holder["secret"] = await output.is_secret()
        import asyncio
        return pulumi.Output.all(output, pulumi.Output.from_input(asyncio.ensure_future(facts()))).apply(
            lambda values: holder.__setitem__("report", values[0])
        )

    program()
    for d in mocks.declared:
        d.urn = monitor.urns.get((d.typ, d.name), "")
        d.dependencies = monitor.dependencies.get((d.typ, d.name), [])
        d.parent = monitor.parents.get((d.typ, d.name), "")
    return Deployment(
        declared=mocks.declared, platform=holder["platform"], report=holder.get("report"),
        report_known=holder.get("known", False), report_secret=holder.get("secret", False),
    )


def without_postgres() -> AppSpec:
    return sample_spec(with_postgres=False)


def with_image(image: str) -> AppSpec:
    return sample_spec(image=image)

