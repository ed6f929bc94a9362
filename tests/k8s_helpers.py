"""The Kubernetes platform run on its own under the shared harness, with a synthetic app.

The synthetic AppSpec stands in for any app (so these tests do not depend on GlitchTip) and is
built to tell behaviours apart: start order and reachability differ (`migrate` waits for valkey
without talking to it, `bootstrap` waits for web without talking to it), one file is secret and
one plain, one service runs as root, one volume is a cache. Every secret value in it is a PLAIN
string: only the platform can make it secret, so a test finding it in clear catches the platform.

`deployed(variant)` runs each configuration variant once per test session.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, Optional

import pulumi

from components.platforms.kubernetes.settings import KubernetesSecretTarget
from components.plugins import PlatformArgs
from components.plugins import DsnTarget
from components.spec import (
    REPORT_PREFIX,
    AppSpec,
    CommandProbe,
    ConfigFile,
    Egress,
    Entrypoint,
    FileMount,
    HealthCheck,
    HttpProbe,
    Mount,
    Port,
    Resources,
    Schedule,
    ScheduledTask,
    Scratch,
    Service,
    Task,
    Volume,
)
from components.validation import Problems, Section
from tests.harness import Declared, Deployment, run
from tests.mock_providers import Mocks
from tests.secret_values import plain_strings

IMAGE = "example/app:1.0.0"
INSTANCE = "et"
# Plain strings the app hands over as secret_env values or secret file contents.
APP_KEY = "s3cr3t-key-value"
PG_PASSWORD = "pg-pass-123"
ADMIN_PASSWORD = "admin-pass-456"
FILE_SECRET = "file-secret-789"
VALKEY_PASSWORD = "valkey-pass-000"
DSN = "https://k3y@errors.example.com/1"
SECRET_VALUES = (APP_KEY, PG_PASSWORD, ADMIN_PASSWORD, FILE_SECRET, VALKEY_PASSWORD, DSN)
PLAIN_FILE = "log_level: info\n"
REPORT_LINE = REPORT_PREFIX + '{"dsns": {"api": "' + DSN + '"}}'
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


def sample_spec(*, with_postgres: bool = True, worker_replicas: int = 1,
                app_key: str = APP_KEY, file_secret: str = FILE_SECRET, plain_file: str = PLAIN_FILE) -> AppSpec:
    small = Resources(memory_mb=512, cpu=0.5)
    db = ("postgres",) if with_postgres else ()
    app_env = {"PORT": "8000", "APP_DOMAIN": "https://errors.example.com"}
    app_secrets = {"SECRET_KEY": app_key, "DATABASE_URL": f"postgres://app:{PG_PASSWORD}@postgres:5432/app"}
    key_file = FileMount("app-key", "/run/secrets/app/key")
    app = dict(image=IMAGE, run_as_user=5000, run_as_group=5000)
    web = Service(
        name="web", resources=small, command=("./bin/start.sh",),
        env={**app_env, "ROLE": "web"}, secret_env=app_secrets,
        files=(key_file, FileMount("app-config", "/etc/app/config.yaml")),
        scratch=(Scratch("/tmp", 64), Scratch("/var/cache/app", 128, memory=False)),
        mounts=(Mount("uploads", "/code/uploads"),), depends_on=(*db, "valkey"), after=("migrate",),
        connects_to=(*db, "valkey"), egress=(Egress("mail", (587,)), Egress("internet", (80, 443))),
        read_only_root=True, stop_grace_seconds=45, ports=(Port(8000),),
        health=HealthCheck(HttpProbe("/_health/", 8000, command=("curl", "-f", "http://localhost:8000/_health/"))),
        max_replicas=None, **app,
    )
    worker = Service(
        name="worker", resources=Resources(memory_mb=1024, cpu=1.0), command=("./bin/run-worker.sh",),
        env={**app_env, "ROLE": "worker"}, secret_env=app_secrets, mounts=(Mount("uploads", "/code/uploads"),),
        depends_on=(*db, "valkey"), after=("migrate",), connects_to=(*db, "valkey"), egress=(Egress("mail", (587,)),),
        health=HealthCheck(CommandProbe(("test", "-f", "/tmp/worker_health"))),
        files=(key_file,), replicas=worker_replicas, max_replicas=4, **app,
    )
    # A singleton that starts as root (it drops privileges itself), with a cache it may lose.
    valkey = Service(
        name="valkey", image="valkey/valkey:8.1", resources=Resources(memory_mb=256, cpu=0.25),
        command=("valkey-server", "--dir", "/data"), secret_env={"VALKEYCLI_AUTH": VALKEY_PASSWORD},
        mounts=(Mount("valkey-cache", "/data"),), ports=(Port(6379, "valkey"),), root=True,
        capabilities=("SETUID", "SETGID"), health=HealthCheck(CommandProbe(("valkey-cli", "ping")), interval_seconds=5),
    )
    services = [web, worker, valkey]
    volumes = [Volume("uploads", 5, shared=True), Volume("valkey-cache", 1, data=False)]
    files = [ConfigFile("app-key", file_secret, secret=True), ConfigFile("app-config", plain_file),
             ConfigFile("unused", "never mounted")]
    scheduled = []
    if with_postgres:
        services.append(Service(
            name="postgres", image="postgres:17.5", resources=Resources(memory_mb=1024, cpu=1.0),
            entrypoint=("docker-entrypoint.sh",), command=("postgres", "-c", "max_connections=50"),
            env={"POSTGRES_USER": "app", "POSTGRES_PASSWORD_FILE": "/run/secrets/postgres-password"},
            files=(FileMount("postgres-password", "/run/secrets/postgres-password"),),
            mounts=(Mount("pgdata", "/var/lib/postgresql"),), scratch=(Scratch("/var/run/postgresql", 1),),
            ports=(Port(5432, "postgres"),), read_only_root=True,
            health=HealthCheck(CommandProbe(("pg_isready", "-U", "app")), start_period_seconds=60),
            stateful=True, run_as_user=999, run_as_group=999,
        ))
        volumes += [Volume("pgdata", 10), Volume("backups", 20)]
        files.append(ConfigFile("postgres-password", PG_PASSWORD, secret=True))
        scheduled.append(ScheduledTask(
            name="backup", image="postgres:17.5", resources=Resources(memory_mb=256, cpu=0.25),
            command=("sh", "-c", "pg_dump -Fc > /backups/app-$(date +%F).dump"),
            secret_env={"PGPASSWORD": PG_PASSWORD}, env={"PGHOST": "postgres"},
            mounts=(Mount("backups", "/backups"),), depends_on=db, connects_to=db,
            egress=(Egress("offsite", (443,)),), run_as_user=999, run_as_group=999,
            schedule=Schedule(hour=3, minute=30), health=HealthCheck(CommandProbe(("sh", "-c", "true"))),
        ))
    # migrate waits for valkey but never talks to it; bootstrap waits for web but never talks to it.
    migrate = Task(name="migrate", resources=small, command=("./bin/run-migrate.sh",), env=app_env,
                   secret_env=app_secrets, depends_on=(*db, "valkey"), connects_to=db, files=(key_file,), **app)
    bootstrap = Task(
        name="bootstrap", resources=small, command=("python3", "manage.py", "bootstrap"), env=app_env,
        secret_env={**app_secrets, "ADMIN_PASSWORD": ADMIN_PASSWORD}, depends_on=(*db, "web"), after=("migrate",),
        connects_to=db, files=(key_file,), reports=True, **app,
    )
    return AppSpec(
        name="demo", version="1.0.0", services=tuple(services), tasks=(migrate, bootstrap),
        volumes=tuple(volumes), entrypoint=Entrypoint("web", 8000, "/_health/"), scheduled=tuple(scheduled),
        files=tuple(files),
    )


def with_workload(spec: AppSpec, name: str, **changes: Any) -> AppSpec:
    """`spec` with one workload changed (dataclasses.replace on it)."""
    def swap(items):
        return tuple(replace(w, **changes) if w.name == name else w for w in items)

    return replace(spec, services=swap(spec.services), tasks=swap(spec.tasks), scheduled=swap(spec.scheduled))


def settings(data: Optional[dict] = None):
    from components.platforms.kubernetes import PLUGIN

    problems = Problems()
    parsed = PLUGIN.parse_settings(Section(data or {}, "error-tracking:kubernetes", problems), problems)
    assert not problems.items, problems.items
    return parsed


DSN_TARGETS = (DsnTarget("api", "kubernetesSecret", KubernetesSecretTarget("shop", "api-sentry", "SENTRY_DSN")),)


def deploy(data: Optional[dict] = None, *, spec: Optional[AppSpec] = None, url: str = "https://errors.example.com",
           preview: bool = False, protect: bool = False, dsn_targets=DSN_TARGETS,
           report_task: Optional[str] = "bootstrap") -> Deployment:
    """Declare the platform alone under the harness; `outputs` holds the task's report ("report")
    and each DSN delivery ("delivery-<project>"), with their secret-ness and known-ness."""
    from components.platforms.kubernetes import PLUGIN

    def program():
        platform = PLUGIN.create(INSTANCE, PlatformArgs(spec=spec or sample_spec(), settings=settings(data),
                                                        url=url, protect=protect), pulumi.ResourceOptions())
        awaited: dict[str, pulumi.Output] = {}
        if report_task is not None:
            report = platform.task_output(report_task)
            awaited["report"] = report
            for target in dsn_targets:
                dsn = report.apply(lambda _: DSN)
                awaited[f"delivery-{target.project}"] = platform.deliver_dsn(target.project, target, dsn)
        return platform, awaited

    return run(program, preview=preview, mocks=Mocks(preview=preview, report=lambda _: REPORT_LINE),
               outputs=lambda result: result[1])


# Configuration variants of the synthetic app, each deployed once per session (`deployed`). Some
# carry more than one setting to keep the suite fast; each test says which setting it reads.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # Also delivers the DSN into the platform's own namespace.
    "https-cluster-issuer": dict(data={"ingress": {
        "className": "nginx", "clusterIssuer": "letsencrypt-prod",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "20m"}}},
        dsn_targets=(DsnTarget("api", "kubernetesSecret",
                               KubernetesSecretTarget("error-tracking", "api-sentry", "SENTRY_DSN")),)),
    # Another ingress class, and the stack's `protect`, and an autoscaler starting at one replica.
    "https-tls-secret": dict(data={"ingress": {"className": "traefik", "tlsSecret": "errors-example-com-tls"},
                                   "autoscaling": {"worker": {"maxReplicas": 3}}}, protect=True),
    # A plain-http URL into an existing namespace, on a chosen kubeconfig and context.
    "http": dict(url="http://errors.internal.example.com",
                 data={"createNamespace": False, "namespace": "observability",
                       "kubeconfig": "/home/ops/.kube/prod", "context": "prod"}),
    "external-db": dict(spec=lambda: sample_spec(with_postgres=False)),
    "scaled": dict(
        data={"autoscaling": {"web": {"minReplicas": 2, "maxReplicas": 5, "targetCpuPercent": 70}},
              "storageClass": "fast-rwx", "sharedStorageClass": "nfs-rwx", "volumeSizes": {"uploads": 50, "pgdata": 100},
              "egress": {"mail": ["192.0.2.25/32"], "kubernetes-api": ["10.0.0.1/32"]},
              "ingress": {"className": "nginx", "maxBodyMb": 250, "controllerNamespace": "ingress-nginx"}},
        spec=lambda: sample_spec(worker_replicas=3)),
    "render": dict(data={"renderYamlTo": "/tmp/rendered-manifests"}),
    "preview": dict(preview=True),
}


@lru_cache(maxsize=None)
def deployed(variant: str) -> Deployment:
    options = dict(VARIANTS[variant])
    if "spec" in options:
        options["spec"] = options["spec"]()
    return deploy(**options)


# The sample changed, each deployed once per session (`changed`): what must run a Job again or roll
# pods, and an identical second run that must do neither. All start from the smaller description
# of the "external-db" variant. "one plain change each" changes every app workload differently
# (web: its plain file; worker and migrate: a plain variable's value; bootstrap: its image) and
# the app's version, so each workload's result shows which change it follows and that it
# ignores the others' (valkey: none of them).
def _one_plain_change_each() -> AppSpec:
    spec = replace(sample_spec(with_postgres=False, plain_file="log_level: debug\n"), version="1.0.1")
    for name in ("worker", "migrate"):
        spec = with_workload(spec, name, env={**spec.workload(name).env, "PORT": "9000"})
    return with_workload(spec, "bootstrap", image="example/app:1.1.0")


CHANGES = {
    "identical": lambda: sample_spec(with_postgres=False),
    "secret env value": lambda: sample_spec(with_postgres=False, app_key="rotated-key-value"),
    "secret file": lambda: sample_spec(with_postgres=False, file_secret="rotated-file-secret"),
    "one plain change each": _one_plain_change_each,
}


@lru_cache(maxsize=None)
def changed(change: str) -> Deployment:
    return deploy(spec=CHANGES[change](), report_task=None)


# --- reading what was declared ---------------------------------------------------------------

def provider(deployment: Deployment) -> Declared:
    return next(d for d in deployment.declared if d.typ == "pulumi:providers:kubernetes")


def component(deployment: Deployment) -> Declared:
    return next(d for d in deployment.declared if d.typ == "error-tracking:platforms:Kubernetes")


def pod_spec(declared: Declared) -> dict:
    spec = declared.inputs["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(declared: Declared) -> list[dict]:
    return pod_spec(declared)["containers"]


def workloads(deployment: Deployment) -> dict[str, Declared]:
    """Pod-running objects by the app's workload name (their component label)."""
    return {d.inputs["metadata"]["labels"]["app.kubernetes.io/component"]: d
            for d in deployment.k8s() if d.kind in WORKLOAD_KINDS}


def job(deployment: Deployment, task: str) -> Declared:
    (found,) = [j for j in deployment.of_kind("Job") if j.object_name.startswith(f"{task}-")]
    return found


def policy(deployment: Deployment, workload: str) -> dict:
    return deployment.one("NetworkPolicy", f"{workload}-traffic").inputs["spec"]


def in_clear(deployment: Deployment) -> str:
    """Every string a declared resource holds outside a secret, joined: what state shows in clear."""
    return "\n".join(s for d in deployment.declared for s in plain_strings(d.raw))


# --- schema validation -----------------------------------------------------------------------

UNKNOWN = "<unknown>"  # how the harness records a value not known yet (a preview)


def newest_schema_version() -> str:
    """The newest Kubernetes minor whose strict schemas kubernetes-validate ships."""
    import kubernetes_validate

    return max(kubernetes_validate.utils.all_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))


SCHEMA_VERSIONS = ("1.30.0", newest_schema_version())


@lru_cache(maxsize=None)
def validator(version: str, api_version: str, kind: str):
    """kubernetes-validate's strict validator for one kind, built once: kubernetes-validate itself
    re-reads its schemas and rebuilds the validator on every call (about 20 ms each)."""
    import jsonschema
    import kubernetes_validate.utils as utils
    from referencing import Registry, Resource

    schema_version = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(version)][-1]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{schema_version}-local-strict"
    schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    definitions = utils.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def strict_problem(manifest: dict, version: str) -> Optional[str]:
    """None when `manifest` is valid Kubernetes `version` in strict mode (unknown fields refused)."""
    import jsonschema

    try:
        validator(version, manifest["apiVersion"], manifest["kind"]).validate(manifest)
    except jsonschema.ValidationError as error:
        return f"{error.message} at {list(error.path)}"
    return None


def _known(value: Any) -> Any:
    """A manifest without the values a preview cannot know yet (the engine fills them in)."""
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items() if v != UNKNOWN}
    if isinstance(value, list):
        return [_known(v) for v in value if v != UNKNOWN]
    return value


def schema_problems(deployments: dict[str, Deployment], version: str) -> list[str]:
    """Every object that is not valid Kubernetes `version` in strict mode (unknown fields refused),
    named with the first variant that declares it; an object declared alike by several variants
    is validated once."""
    unique: dict[str, tuple[str, Declared, dict]] = {}
    for variant, deployment in deployments.items():
        for d in deployment.k8s():
            manifest = _known(d.manifest())
            unique.setdefault(json.dumps(manifest, sort_keys=True), (variant, d, manifest))
    problems = []
    for variant, d, manifest in unique.values():
        problem = strict_problem(manifest, version)
        if problem:
            problems.append(f"{variant}: {d.typ} {d.object_name}: {problem}")
    return problems
