"""GlitchTip 6 described as services and tasks (see components.spec); no platform knowledge here.

Facts from GlitchTip 6 (shared/reference/glitchtip.md): one image, role chosen by SERVER_ROLE;
the web role never migrates, so `./bin/run-migrate.sh` runs first as a one-shot; `VALKEY_URL=""`
selects the Postgres-only mode (unset means host `redis`); the image listens on 8000, serves
`/_health/` and ships `healthcheck.py`; it runs as uid 5000; uploads live in /code/uploads.
Settings are read through django-environ's FileAwareEnv, so secrets go in as `X_FILE` files,
except EMAIL_URL, which GlitchTip reads only from the environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Optional
from urllib.parse import urlsplit

import pulumi

from components import stores
from components.apps.glitchtip.operations import operations
from components.apps.glitchtip.settings import GlitchTipSettings
from components.operations import alerting
from components.apps.glitchtip.sizing import malloc_tuning
from components.apps.site import Env, Site
from components.spec import (
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
    Scratch,
    Service,
    Task,
    Volume,
)

WEB_PORT = 8000
HEALTH_PATH = "/_health/"
APP_UID = 5000
WORKER_HEALTH_FILE = "/tmp/worker_health"
DATABASE = "glitchtip"
SECRETS_DIR = "/run/secrets/glitchtip"
API_TOKEN_LABEL = "error-tracking ci"
EMAIL_PORTS = {"smtp": (25, 587), "smtp+tls": (587,), "smtp+ssl": (465,), "consolemail": ()}


@dataclass(frozen=True)
class Secrets:
    """Generated values (Outputs, secret) that the description wires into the containers."""

    secret_key: pulumi.Input[str]
    postgres_password: pulumi.Input[str]
    valkey_password: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    auth_token: pulumi.Input[str]


def bootstrap_script() -> str:
    return package_files.files("components.apps.glitchtip").joinpath("bootstrap_script.py").read_text()


def describe(site: Site, settings: GlitchTipSettings, secrets: Secrets) -> AppSpec:
    """The whole GlitchTip deployment, for any platform."""
    services: list[Service] = []
    volumes: list[Volume] = [Volume("uploads", size_gb=10, shared=True)]
    peers: list[str] = []
    egress: list[Egress] = _egress(site, settings)

    database = stores.Database(name=DATABASE, user=DATABASE, password=secrets.postgres_password)
    files = [ConfigFile("glitchtip-secret-key", pulumi.Output.secret(secrets.secret_key), secret=True)]
    if site.database_url:
        database_url = pulumi.Output.secret(site.database_url)
    else:
        postgres, volume, password = stores.postgres_service(
            settings.postgres_image, database, settings.resources["postgres"], settings.postgres_connections
        )
        services.append(postgres)
        volumes.append(volume)
        files.append(password)
        peers.append("postgres")
        database_url = database.url()
    ops = operations(site, settings, None if site.database_url else database, WEB_PORT, HEALTH_PATH)
    files.append(ConfigFile("glitchtip-database-url", database_url, secret=True))

    env = Env()
    _settings_env(env, site, settings)
    mounts_files = [
        FileMount("glitchtip-secret-key", f"{SECRETS_DIR}/secret-key"),
        FileMount("glitchtip-database-url", f"{SECRETS_DIR}/database-url"),
    ]
    env.put("SECRET_KEY_FILE", f"{SECRETS_DIR}/secret-key")
    env.put("DATABASE_URL_FILE", f"{SECRETS_DIR}/database-url")
    if not settings.valkey:
        env.put("VALKEY_URL", "")
    else:
        if site.valkey_url:
            url = pulumi.Output.secret(site.valkey_url)
        else:
            valkey, volume, config = stores.valkey_service(
                settings.valkey_image, settings.resources["valkey"], secrets.valkey_password
            )
            services.append(valkey)
            volumes.append(volume)
            files.append(config)
            peers.append("valkey")
            url = stores.valkey_url(secrets.valkey_password)
        files.append(ConfigFile("glitchtip-valkey-url", url, secret=True))
        mounts_files.append(FileMount("glitchtip-valkey-url", f"{SECRETS_DIR}/valkey-url"))
        env.put("VALKEY_URL_FILE", f"{SECRETS_DIR}/valkey-url")

    def glitchtip(name: str, resources: Resources, extra: Optional[Env] = None, **kwargs):
        extra = extra or Env()
        return dict(
            name=name,
            image=settings.image,
            resources=resources,
            env={**env.plain, **malloc_tuning(resources.cpu), **extra.plain},
            secret_env={**env.secret, **extra.secret},
            files=tuple(mounts_files),
            scratch=(Scratch("/tmp", 64),),
            depends_on=tuple(peers),
            connects_to=tuple(peers),
            egress=tuple(egress),
            run_as_user=APP_UID,
            run_as_group=APP_UID,
            read_only_root=True,
            **kwargs,
        )

    uploads = (Mount("uploads", "/code/uploads"),)
    migrate = Task(**glitchtip("migrate", settings.resources["web"], command=("./bin/run-migrate.sh",),
                               after=(ops.migrate_after,) if ops.migrate_after else ()))
    bootstrap = Task(**glitchtip(
        "bootstrap",
        settings.resources["web"],
        _bootstrap_env(site, secrets),
        command=("./manage.py", "shell", "-c", bootstrap_script()),
        after=("migrate",),
        reports=True,
    ))
    services.extend(_processes(settings, glitchtip, uploads, ops.heartbeat))
    spec = AppSpec(
        name="glitchtip",
        version=settings.version,
        services=tuple(services + ops.services),
        tasks=(*ops.tasks, migrate, bootstrap),
        volumes=tuple(volumes + ops.volumes),
        entrypoint=Entrypoint(service="web", port=WEB_PORT, health_path=HEALTH_PATH),
        scheduled=tuple(ops.scheduled),
        files=tuple(files + ops.files),
    )
    spec.validate()
    return spec


def _processes(settings: GlitchTipSettings, glitchtip, uploads, heartbeat: Optional[str]) -> list[Service]:
    """web (or all-in-one) and the worker, each with the health check its image supports."""
    all_in_one = settings.mode == "all-in-one"
    web_env = Env()
    web_env.put("SERVER_ROLE", "all_in_one" if all_in_one else "web")
    web_env.put("WEB_CONCURRENCY", str(settings.web_workers))
    if all_in_one:
        # Migrations already ran as the one-shot task; the process need not repeat them.
        web_env.put("SKIP_INIT", "true")
    web = Service(**glitchtip(
        "web",
        settings.resources["web"],
        web_env,
        mounts=uploads,
        after=("migrate",),
        ports=(Port(WEB_PORT, "http"),),
        health=HealthCheck(
            HttpProbe(HEALTH_PATH, WEB_PORT, command=("python", "healthcheck.py")),
            interval_seconds=15,
            timeout_seconds=5,
            retries=5,
            start_period_seconds=60,
        ),
        replicas=settings.replicas["web"],
        max_replicas=settings.max_replicas["web"],
    ))
    if all_in_one:
        return [web]
    worker_env = Env()
    # What bin/run-worker.sh exports before it runs the worker.
    worker_env.put("SERVER_ROLE", "worker")
    worker_env.put("IS_WORKER", "true")
    worker_env.put("LOG_LEVEL", "INFO")
    # The heartbeat goes to a volume the watchdog reads when there is one, else to scratch space.
    health_file = heartbeat or WORKER_HEALTH_FILE
    worker = Service(**glitchtip(
        "worker",
        settings.resources["worker"],
        worker_env,
        # bin/run-worker.sh's command plus the heartbeat file the health check reads (the flag
        # Red Hat's production GlitchTip 6 deployment passes). The malloc tuning that
        # bin/tune-malloc.sh would export is set as variables above.
        command=("./manage.py", "runworker", "--scheduler", "--health-check-file", health_file),
        mounts=(*uploads, *((alerting.heartbeat_mount(read_only=False),) if heartbeat else ())),
        after=("migrate",),
        health=HealthCheck(
            CommandProbe((
                "sh", "-c",
                f'test $(( $(date +%s) - $(stat -c %Y {health_file}) )) -lt 60',
            )),
            interval_seconds=30,
            timeout_seconds=5,
            retries=3,
            start_period_seconds=60,
        ),
        replicas=settings.replicas["worker"],
        max_replicas=settings.max_replicas["worker"],
    ))
    return [web, worker]


def _settings_env(env: Env, site: Site, settings: GlitchTipSettings) -> None:
    url_secret = "url" in site.secret_keys
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(site.url))
    env.put("GLITCHTIP_DOMAIN", site.url, url_secret)
    # Behind a proxy that rewrites Host, Django would refuse the browser's POSTs without this.
    env.put("CSRF_TRUSTED_ORIGINS", origin, url_secret)
    env.put("DEFAULT_FROM_EMAIL", settings.from_email or f"glitchtip@{site.host}", settings.secret or url_secret)
    env.put("EMAIL_URL", settings.email_url, settings.email_configured)
    env.put("PORT", str(WEB_PORT))
    env.put("GLITCHTIP_RETENTION_DAYS", str(settings.retention_days))
    env.put("ENABLE_USER_REGISTRATION", str(settings.open_registration).lower())
    env.put("ENABLE_ORGANIZATION_CREATION", "false")
    env.put("ENABLE_ADMIN", str(settings.enable_admin).lower())
    env.put("DATABASE_POOL_MAX_SIZE", str(settings.database_pool_size))
    for name, value in settings.env.items():
        env.put(name, value, settings.secret)


def _bootstrap_env(site: Site, secrets: Secrets) -> Env:
    """What bootstrap_script.py reads: who the admin is and what to create (passwords are secret)."""
    env = Env()
    projects = [{"name": p.name, "platform": p.platform} for p in site.projects]
    env.put("BOOTSTRAP_ADMIN_EMAIL", site.admin_email, "adminEmail" in site.secret_keys)
    env.put("BOOTSTRAP_ORGANIZATION", site.organization, "organization" in site.secret_keys)
    env.put("BOOTSTRAP_TEAM", site.team, "organization" in site.secret_keys)
    env.put("BOOTSTRAP_PROJECTS", json.dumps(projects, sort_keys=True), "projects" in site.secret_keys)
    env.put("BOOTSTRAP_API_TOKEN_LABEL", API_TOKEN_LABEL)
    env.put("BOOTSTRAP_ADMIN_PASSWORD", secrets.admin_password, True)
    env.put("BOOTSTRAP_API_TOKEN", secrets.auth_token, True)
    return env


def _egress(site: Site, settings: GlitchTipSettings) -> list[Egress]:
    """Where GlitchTip's processes connect outside the app: mail, external stores, and the
    internet for uptime checks and alert webhooks."""
    egress = [Egress("internet", (80, 443), public=True)]
    scheme = settings.email_url.split("://", 1)[0]
    port = _port(settings.email_url)
    if settings.email_configured:
        egress.append(Egress("mail", (port,) if port else EMAIL_PORTS[scheme]))
    if site.database_url:
        egress.append(Egress("database", (_port(site.database_url) or stores.POSTGRES_PORT,)))
    if settings.valkey and site.valkey_url:
        egress.append(Egress("valkey", (_port(site.valkey_url) or stores.VALKEY_PORT,)))
    return egress


def _port(url: str) -> Optional[int]:
    try:
        return urlsplit(url).port
    except ValueError:
        return None
