"""The `glitchtip:` configuration section: version, process layout, email, retention, sizing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.apps.glitchtip.sizing import (
    TYPICAL,
    with_requests,
    DEFAULT_RESOURCES,
    MINIMUM_MEMORY_MB,
    connections_needed,
)
from components.settings import extra_env
from components.spec import Resources
from components.stores import max_connections, postgres_memory_needed_mb
from components.validation import Problems, Section, email_problem

# Pinned defaults: the newest GlitchTip 6 release and the stores it is tested with upstream.
DEFAULT_VERSION = "6.2.6"
DEFAULT_POSTGRES_IMAGE = "postgres:18.4"
DEFAULT_VALKEY_IMAGE = "valkey/valkey:9.0.3"

MODES = ("split", "all-in-one")
EMAIL_SCHEMES = ("consolemail", "smtp", "smtp+tls", "smtp+ssl")
# Without mail configured Django would send through SMTP on localhost:25 and every invitation
# and alert would fail; upstream's samples log mail to the console instead.
CONSOLE_EMAIL = "consolemail://"

# What the program sets, by the glitchtip setting an operator uses instead, with every variable
# GlitchTip reads as an alternative to it (glitchtip/settings.py in GlitchTip 6: GLITCHTIP_URL
# and APP_URL win over GLITCHTIP_DOMAIN, DATABASE_HOST switches to the DATABASE_* parts, the
# VALKEY_*/REDIS_* parts build VALKEY_URL, EMAIL_URL overrides every EMAIL_* part,
# ENABLE_OPEN_USER_REGISTRATION overrides ENABLE_ORGANIZATION_CREATION, GRANIAN_* win over
# PORT/WEB_CONCURRENCY in bin/run-granian.sh). `env` may not set any of them.
MANAGED_ENV: Mapping[str, tuple[str, ...]] = {
    "the generated secret key": ("SECRET_KEY",),
    "url": ("GLITCHTIP_DOMAIN", "GLITCHTIP_URL", "APP_URL", "CSRF_TRUSTED_ORIGINS"),
    "databaseUrl": (
        "DATABASE_URL", "DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_PORT",
        "MAINTENANCE_DATABASE_URL", "READ_ONLY_DATABASE_URL",
    ),
    "glitchtip.databasePoolSize": (
        "DATABASE_POOL_MIN_SIZE", "DATABASE_POOL_MAX_SIZE", "DATABASE_CONN_MAX_AGE",
    ),
    "valkeyUrl / glitchtip.valkey": (
        "VALKEY_URL", "REDIS_URL", "VALKEY_HOST", "REDIS_HOST", "VALKEY_PORT", "REDIS_PORT",
        "VALKEY_DATABASE", "REDIS_DATABASE", "VALKEY_PASSWORD", "REDIS_PASSWORD",
    ),
    "glitchtip.emailUrl": (
        "EMAIL_URL", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
        "EMAIL_USE_TLS", "EMAIL_USE_SSL",
    ),
    "glitchtip.fromEmail": ("DEFAULT_FROM_EMAIL",),
    "glitchtip.retentionDays": ("GLITCHTIP_RETENTION_DAYS", "GLITCHTIP_MAX_EVENT_LIFE_DAYS"),
    "glitchtip.openRegistration": (
        "ENABLE_USER_REGISTRATION", "ENABLE_ORGANIZATION_CREATION", "ENABLE_OPEN_USER_REGISTRATION",
    ),
    "glitchtip.enableAdmin": ("ENABLE_ADMIN",),
    "glitchtip.mode / glitchtip.webWorkers": (
        "SERVER_ROLE", "GLITCHTIP_EMBED_WORKER", "SKIP_INIT", "IS_WORKER", "PORT", "GRANIAN_HOST", "GRANIAN_PORT",
        "GRANIAN_WORKERS", "WEB_CONCURRENCY",
    ),
    "the memory tuning derived from glitchtip.resources": (
        "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
    ),
}
# GlitchTip reads its settings through django-environ's FileAwareEnv: `X_FILE` wins over `X`.
_MANAGED = {name: owner for owner, names in MANAGED_ENV.items() for name in names}
_MANAGED.update({f"{name}_FILE": owner for name, owner in list(_MANAGED.items())})


@dataclass(frozen=True)
class GlitchTipSettings:
    version: str
    mode: str
    valkey: bool
    email_url: str  # secret unless it is the console default
    from_email: Optional[str]
    retention_days: int
    open_registration: bool
    enable_admin: bool
    web_workers: int
    database_pool_size: int
    postgres_image: str
    valkey_image: str
    resources: Mapping[str, Resources]
    # Service -> replicas always running, and the most that may run (autoscaling, rollouts).
    replicas: Mapping[str, int] = field(default_factory=dict)
    max_replicas: Mapping[str, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    # Set with `pulumi config set --secret` somewhere below `glitchtip`: free-form values
    # (env, fromEmail) then reach the containers as secrets.
    secret: bool = False
    # Postgres max_connections, computed from every process's pool.
    postgres_connections: int = 100
    # Settings of the stores this stack may not run, when the operator set them (postgresImage,
    # resources.postgres, ...): refused when an external store replaces that one.
    store_settings: frozenset[str] = frozenset()

    @property
    def image(self) -> str:
        return f"glitchtip/glitchtip:{self.version}"

    @property
    def email_configured(self) -> bool:
        return self.email_url != CONSOLE_EMAIL


def parse_settings(section: Section, problems: Problems) -> GlitchTipSettings:
    version = section.string(
        "version",
        DEFAULT_VERSION,
        check=lambda v: None if re.fullmatch(r"6\.\d+\.\d+", v) else
        "must be a pinned GlitchTip 6 release such as 6.2.6 (no 'v' prefix, no 'latest')",
    )
    mode = section.string("mode", "split", choices=MODES) or "split"
    valkey = section.boolean("valkey", True)
    email_url = section.string(
        "emailUrl",
        CONSOLE_EMAIL,
        secret=True,
        check=lambda v: None if v.split("://", 1)[0] in EMAIL_SCHEMES and "://" in v else
        f"must be an email URL ({', '.join(s + '://' for s in EMAIL_SCHEMES)})",
    )
    from_email = section.string("fromEmail", None, check=email_problem)
    retention_days = section.integer("retentionDays", 90, minimum=1, maximum=3650)
    open_registration = section.boolean("openRegistration", False)
    enable_admin = section.boolean("enableAdmin", False)
    web_workers = section.integer("webWorkers", 1, minimum=1, maximum=16)
    pool = section.integer("databasePoolSize", 5, minimum=2, maximum=50)
    postgres_image = section.string("postgresImage", DEFAULT_POSTGRES_IMAGE, check=pinned_image_problem)
    valkey_image = section.string("valkeyImage", DEFAULT_VALKEY_IMAGE, check=pinned_image_problem)
    # Moved to the top level, for every app: say where instead of only "unknown".
    section.moved("backup", "backups are the top-level setting `backup` (pulumi config set --path backup.hour 3), "
                  "with the restore drill and off-site copies")
    resources = _resources(section.section("resources"), mode, valkey)
    processes = ("web",) if mode == "all-in-one" else ("web", "worker")
    replicas = _counts(section.section("replicas"), processes, 1)
    max_replicas = _counts(section.section("maxReplicas"), processes, None, floor=replicas)
    env = extra_env(section, _MANAGED)
    section.finish()
    sizes = section.data.get("resources") if isinstance(section.data.get("resources"), dict) else {}
    store_settings = frozenset([*(k for k in ("postgresImage", "valkeyImage") if section.data.get(k) is not None),
                                *(f"resources.{k}" for k in ("postgres", "valkey") if k in sizes)])
    max_replicas = {k: max_replicas.get(k) or replicas[k] for k in processes}
    connections = connections_needed(max_replicas, web_workers=web_workers, pool=pool)
    postgres_connections = max_connections(connections)
    return GlitchTipSettings(
        version=version,
        mode=mode,
        valkey=valkey,
        email_url=email_url,
        from_email=from_email,
        retention_days=retention_days,
        open_registration=open_registration,
        enable_admin=enable_admin,
        web_workers=web_workers,
        database_pool_size=pool,
        postgres_image=postgres_image,
        valkey_image=valkey_image,
        resources=resources,
        replicas=replicas,
        max_replicas=max_replicas,
        env=env,
        secret=section.secret,
        postgres_connections=postgres_connections,
        store_settings=store_settings,
    )


def postgres_memory_problem(settings: GlitchTipSettings) -> Optional[str]:
    """The Postgres this stack runs must hold every connection; None when it does (checked only
    where that Postgres runs: an external database is sized by its operator)."""
    postgres = settings.resources.get("postgres")
    if postgres is None:
        return None
    need = postgres_memory_needed_mb(settings.postgres_connections, postgres)
    if postgres.memory_mb >= need:
        return None
    return (f"error-tracking:glitchtip.resources.postgres.memoryMb: must be at least {need} to hold "
            f"{settings.postgres_connections} connections (every web and worker replica's pool of "
            f"{settings.database_pool_size}, the one-shot tasks and backups); raise it or lower databasePoolSize, "
            "webWorkers or the replicas")


def pinned_image_problem(value: str) -> Optional[str]:
    name, _, tag = value.rpartition(":")
    if "@sha256:" in value:
        return None
    if not name or "/" in tag or not tag or tag == "latest":
        return "must be an image with a pinned tag such as postgres:18.4 (not latest)"
    return None


def _resources(section: Section, mode: str, valkey: bool) -> dict[str, Resources]:
    """Defaults for the layout, overridden per container: `resources.web.memoryMb: 320`; requests
    (`memoryRequestMb`, `cpuRequest`) default to the typical use, within the limit."""
    defaults = dict(DEFAULT_RESOURCES[mode])
    typical = dict(TYPICAL[mode])
    if not valkey:
        # Without Valkey, Postgres also carries the queue and cache: give it Valkey's share.
        freed = defaults.pop("valkey")
        postgres = defaults["postgres"]
        defaults["postgres"] = Resources(memory_mb=postgres.memory_mb + freed.memory_mb, cpu=postgres.cpu)
        spare = typical.pop("valkey")
        typical["postgres"] = Resources(memory_mb=typical["postgres"].memory_mb + spare.memory_mb,
                                        cpu=typical["postgres"].cpu)
    resources = {}
    for name, default in defaults.items():
        item = section.section(name)
        floor = MINIMUM_MEMORY_MB.get(name, 16)
        limits = Resources(
            memory_mb=item.integer("memoryMb", default.memory_mb, minimum=floor, maximum=65536) or default.memory_mb,
            cpu=item.number("cpu", default.cpu, minimum=0.05, maximum=64) or default.cpu,
        )
        memory_request = item.integer("memoryRequestMb", None, minimum=16, maximum=limits.memory_mb)
        cpu_request = item.number("cpuRequest", None, minimum=0.01, maximum=limits.cpu)
        resources[name] = with_requests(limits, typical[name], memory_request, cpu_request)
        item.finish()
    section.finish(f" (containers of mode {mode}{'' if valkey else ' without valkey'})")
    return resources


def _counts(section: Section, processes: tuple[str, ...], default, floor: Optional[Mapping[str, int]] = None):
    counts = {}
    for name in processes:
        minimum = (floor or {}).get(name, 1)
        counts[name] = section.integer(name, default, minimum=minimum, maximum=100)
    section.finish(" (processes of this mode)")
    return counts
