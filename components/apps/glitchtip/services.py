"""GlitchTip 6 described as services and tasks (see components.spec); no platform knowledge here.

Facts from GlitchTip 6 (shared/reference/glitchtip.md): one image, role chosen by SERVER_ROLE;
the web role never migrates, so `./bin/run-migrate.sh` runs first as a one-shot; `VALKEY_URL=""`
selects the Postgres-only mode (unset means host `redis`); the image listens on 8000, serves
`/_health/` and ships `healthcheck.py`; it runs as uid 5000; uploads live in /code/uploads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Optional

import pulumi

from components import stores
from components.apps.glitchtip.settings import GlitchTipSettings
from components.settings import Project, slugify
from components.spec import (
    AppSpec,
    CommandProbe,
    Entrypoint,
    HealthCheck,
    HttpProbe,
    Mount,
    Port,
    Resources,
    Service,
    Task,
    Volume,
)

WEB_PORT = 8000
HEALTH_PATH = "/_health/"
APP_UID = 5000
WORKER_HEALTH_FILE = "/tmp/worker_health"
DATABASE = "glitchtip"


@dataclass(frozen=True)
class Secrets:
    """Generated values (Outputs, secret) that the description wires into the containers."""

    secret_key: pulumi.Input[str]
    postgres_password: pulumi.Input[str]
    admin_password: pulumi.Input[str]


@dataclass(frozen=True)
class Site:
    """Stack-level facts GlitchTip needs: where it is reached, who administers it, what to create."""

    url: str
    host: str
    admin_email: str
    organization: str
    projects: tuple[Project, ...]
    database_url: Optional[str] = None  # external PostgreSQL (secret)
    valkey_url: Optional[str] = None  # external Valkey/Redis (secret)


def bootstrap_script() -> str:
    return package_files.files("components.apps.glitchtip").joinpath("bootstrap_script.py").read_text()


def describe(site: Site, settings: GlitchTipSettings, secrets: Secrets) -> AppSpec:
    """The whole GlitchTip deployment, for any platform."""
    services: list[Service] = []
    volumes: list[Volume] = [Volume("uploads", size_gb=10, shared=True)]
    scheduled = []
    stores_needed: list[str] = []

    database = stores.Database(name=DATABASE, user=DATABASE, password=secrets.postgres_password)
    if site.database_url:
        database_url = pulumi.Output.secret(site.database_url)
    else:
        postgres, volume = stores.postgres_service(settings.postgres_image, database, settings.resources["postgres"])
        services.append(postgres)
        volumes.append(volume)
        stores_needed.append("postgres")
        database_url = database.url()
        if settings.backup.enabled:
            backup, backups = stores.backup_task(
                settings.postgres_image, database, settings.resources["backup"],
                settings.backup.hour, settings.backup.minute, settings.backup.retention_days,
            )
            scheduled.append(backup)
            volumes.append(backups)

    plain_env = _plain_env(site, settings)
    secret_env: dict[str, pulumi.Input[str]] = {
        "SECRET_KEY": secrets.secret_key,
        "DATABASE_URL": database_url,
    }
    if settings.email_url:
        secret_env["EMAIL_URL"] = pulumi.Output.secret(settings.email_url)
    if not settings.valkey:
        plain_env["VALKEY_URL"] = ""
    elif site.valkey_url:
        secret_env["VALKEY_URL"] = pulumi.Output.secret(site.valkey_url)
    else:
        valkey, volume = stores.valkey_service(settings.valkey_image, settings.resources["valkey"])
        services.append(valkey)
        volumes.append(volume)
        stores_needed.append("valkey")
        plain_env["VALKEY_URL"] = f"redis://valkey:{stores.VALKEY_PORT}/0"

    def glitchtip(name: str, resources: Resources, env: dict, extra_secrets: Optional[dict] = None, **kwargs):
        return dict(
            name=name,
            image=settings.image,
            resources=resources,
            env={**plain_env, **env},
            secret_env={**secret_env, **(extra_secrets or {})},
            depends_on=tuple(stores_needed),
            run_as_user=APP_UID,
            run_as_group=APP_UID,
            **kwargs,
        )

    uploads = (Mount("uploads", "/code/uploads"),)
    migrate = Task(**glitchtip("migrate", settings.resources["web"], {}, command=("./bin/run-migrate.sh",)))
    bootstrap = Task(**glitchtip(
        "bootstrap",
        settings.resources["web"],
        _bootstrap_env(site),
        {"BOOTSTRAP_ADMIN_PASSWORD": secrets.admin_password},
        command=("./manage.py", "shell", "-c", bootstrap_script()),
        after=("migrate",),
        reports=True,
    ))

    all_in_one = settings.mode == "all-in-one"
    web_env = {
        "SERVER_ROLE": "all_in_one" if all_in_one else "web",
        "WEB_CONCURRENCY": str(settings.web_workers),
    }
    if all_in_one:
        # Migrations already ran as the one-shot task; the process need not repeat them.
        web_env["SKIP_INIT"] = "true"
    services.append(Service(**glitchtip(
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
        scalable=True,
    )))
    if not all_in_one:
        services.append(Service(**glitchtip(
            "worker",
            settings.resources["worker"],
            {"SERVER_ROLE": "worker", "IS_WORKER": "true", "LOG_LEVEL": "INFO"},
            # What bin/run-worker.sh runs, plus the heartbeat file the health check reads
            # (the pattern of Red Hat's production GlitchTip 6 deployment).
            command=("./manage.py", "runworker", "--scheduler", "--health-check-file", WORKER_HEALTH_FILE),
            mounts=uploads,
            after=("migrate",),
            health=HealthCheck(
                CommandProbe((
                    "sh", "-c",
                    f'test $(( $(date +%s) - $(stat -c %Y {WORKER_HEALTH_FILE}) )) -lt 60',
                )),
                interval_seconds=30,
                timeout_seconds=5,
                retries=3,
                start_period_seconds=60,
            ),
            scalable=True,
        )))

    spec = AppSpec(
        name="glitchtip",
        version=settings.version,
        services=tuple(services),
        tasks=(migrate, bootstrap),
        volumes=tuple(volumes),
        entrypoint=Entrypoint(service="web", port=WEB_PORT, health_path=HEALTH_PATH),
        scheduled=tuple(scheduled),
    )
    spec.validate()
    return spec


def team_slug(organization: str) -> str:
    return slugify(organization) or "team"


def _plain_env(site: Site, settings: GlitchTipSettings) -> dict[str, str]:
    env = {
        "GLITCHTIP_DOMAIN": site.url,
        "DEFAULT_FROM_EMAIL": settings.from_email or f"glitchtip@{site.host}",
        "PORT": str(WEB_PORT),
        "GLITCHTIP_RETENTION_DAYS": str(settings.retention_days),
        "ENABLE_USER_REGISTRATION": str(settings.open_registration).lower(),
        "ENABLE_ORGANIZATION_CREATION": "false",
        "ENABLE_ADMIN": str(settings.enable_admin).lower(),
    }
    env.update(settings.env)
    return env


def _bootstrap_env(site: Site) -> dict[str, str]:
    """What bootstrap_script.py reads: who the admin is and what to create (the password is secret)."""
    projects = [{"name": p.name, "platform": p.platform} for p in site.projects]
    return {
        "BOOTSTRAP_ADMIN_EMAIL": site.admin_email,
        "BOOTSTRAP_ORGANIZATION": site.organization,
        "BOOTSTRAP_TEAM": team_slug(site.organization),
        "BOOTSTRAP_PROJECTS": json.dumps(projects, sort_keys=True),
    }
