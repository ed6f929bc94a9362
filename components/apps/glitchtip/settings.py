"""The `glitchtip:` configuration section: version, process layout, email, retention, sizing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.settings import ENV_KEY
from components.spec import Resources
from components.validation import Problems, Section, email_problem

# Pinned defaults: the newest GlitchTip 6 release and the stores it is tested with upstream.
DEFAULT_VERSION = "6.2.6"
DEFAULT_POSTGRES_IMAGE = "postgres:18.4"
DEFAULT_VALKEY_IMAGE = "valkey/valkey:9.0.3"

MODES = ("split", "all-in-one")
EMAIL_SCHEMES = ("consolemail", "smtp", "smtp+tls", "smtp+ssl")

# Memory limits (MB) and CPU limits per container; each layout adds up to at most 512 MB, so
# GlitchTip fits a 2 GB VPS beside the applications it watches. The backup sidecar is counted.
DEFAULT_RESOURCES: Mapping[str, Mapping[str, Resources]] = {
    "split": {
        "web": Resources(memory_mb=200, cpu=0.5),
        "worker": Resources(memory_mb=150, cpu=0.3),
        "postgres": Resources(memory_mb=100, cpu=0.5),
        "valkey": Resources(memory_mb=32, cpu=0.2),
        "backup": Resources(memory_mb=30, cpu=0.2),
    },
    "all-in-one": {
        "web": Resources(memory_mb=320, cpu=0.8),
        "postgres": Resources(memory_mb=120, cpu=0.5),
        "valkey": Resources(memory_mb=32, cpu=0.2),
        "backup": Resources(memory_mb=30, cpu=0.2),
    },
}

# Variables the program sets itself; `env` may not override them (that would break wiring).
MANAGED_ENV = frozenset({
    "SECRET_KEY", "DATABASE_URL", "VALKEY_URL", "REDIS_URL", "EMAIL_URL", "GLITCHTIP_DOMAIN",
    "SERVER_ROLE", "PORT", "SKIP_INIT", "DEFAULT_FROM_EMAIL", "GLITCHTIP_RETENTION_DAYS",
    "ENABLE_USER_REGISTRATION", "ENABLE_ORGANIZATION_CREATION", "ENABLE_ADMIN", "WEB_CONCURRENCY",
})


@dataclass(frozen=True)
class Backup:
    enabled: bool
    hour: int
    minute: int
    retention_days: int


@dataclass(frozen=True)
class GlitchTipSettings:
    version: str
    mode: str
    valkey: bool
    email_url: Optional[str]  # secret
    from_email: Optional[str]
    retention_days: int
    open_registration: bool
    enable_admin: bool
    web_workers: int
    postgres_image: str
    valkey_image: str
    backup: Backup
    resources: Mapping[str, Resources]
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def image(self) -> str:
        return f"glitchtip/glitchtip:{self.version}"


def parse_settings(section: Section, problems: Problems) -> GlitchTipSettings:
    version = section.string(
        "version",
        DEFAULT_VERSION,
        check=lambda v: None if re.fullmatch(r"6\.\d+\.\d+", v) else
        "must be a pinned GlitchTip 6 release such as 6.2.6 (no 'v' prefix, no 'latest')",
    )
    mode = section.string("mode", "split", choices=MODES)
    valkey = section.boolean("valkey", True)
    email_url = section.string(
        "emailUrl",
        None,
        secret=True,
        check=lambda v: None if v.split("://", 1)[0] in EMAIL_SCHEMES and "://" in v else
        f"must be an email URL ({', '.join(s + '://' for s in EMAIL_SCHEMES)})",
    )
    from_email = section.string("fromEmail", None, check=email_problem)
    retention_days = section.integer("retentionDays", 90, minimum=1, maximum=3650)
    open_registration = section.boolean("openRegistration", False)
    enable_admin = section.boolean("enableAdmin", False)
    web_workers = section.integer("webWorkers", 1, minimum=1, maximum=16)
    postgres_image = section.string("postgresImage", DEFAULT_POSTGRES_IMAGE, check=_pinned_image)
    valkey_image = section.string("valkeyImage", DEFAULT_VALKEY_IMAGE, check=_pinned_image)
    backup = _backup(section.section("backup"))
    resources = _resources(section.section("resources"), mode or "split", valkey)
    env = _env(section)
    section.finish()
    return GlitchTipSettings(
        version=version,
        mode=mode or "split",
        valkey=valkey,
        email_url=email_url,
        from_email=from_email,
        retention_days=retention_days,
        open_registration=open_registration,
        enable_admin=enable_admin,
        web_workers=web_workers,
        postgres_image=postgres_image,
        valkey_image=valkey_image,
        backup=backup,
        resources=resources,
        env=env,
    )


def _pinned_image(value: str) -> Optional[str]:
    name, _, tag = value.rpartition(":")
    if not name or "/" in tag or not tag or tag == "latest":
        return "must be an image with a pinned tag such as postgres:18.4 (not latest)"
    return None


def _backup(section: Section) -> Backup:
    backup = Backup(
        enabled=section.boolean("enabled", True),
        hour=section.integer("hour", 3, minimum=0, maximum=23),
        minute=section.integer("minute", 0, minimum=0, maximum=59),
        retention_days=section.integer("retentionDays", 30, minimum=1, maximum=3650),
    )
    section.finish()
    return backup


def _resources(section: Section, mode: str, valkey: bool) -> dict[str, Resources]:
    """Defaults for the layout, overridden per container: `resources.web.memoryMb: 256`."""
    defaults = dict(DEFAULT_RESOURCES.get(mode, DEFAULT_RESOURCES["split"]))
    if not valkey:
        # Without Valkey, Postgres also carries the queue and cache: give it Valkey's share.
        freed = defaults.pop("valkey")
        postgres = defaults["postgres"]
        defaults["postgres"] = Resources(memory_mb=postgres.memory_mb + freed.memory_mb, cpu=postgres.cpu)
    resources = {}
    for name, default in defaults.items():
        item = section.section(name)
        resources[name] = Resources(
            memory_mb=item.integer("memoryMb", default.memory_mb, minimum=16, maximum=65536),
            cpu=item.number("cpu", default.cpu, minimum=0.05, maximum=64),
        )
        item.finish()
    section.finish(f" (containers of mode {mode}{'' if valkey else ' without valkey'})")
    return resources


def _env(section: Section) -> dict[str, str]:
    """Extra GlitchTip settings (`env: {GLITCHTIP_ENABLE_UPTIME: "false"}`), plain values only."""
    raw = section.raw("env", {})
    if not isinstance(raw, dict):
        section.error("env", "must be an object of VARIABLE: value")
        return {}
    env = {}
    for key, value in raw.items():
        name = f"env.{key}"
        if not ENV_KEY.match(str(key)):
            section.error(name, "is not an environment variable name")
        elif key in MANAGED_ENV:
            section.error(name, "is set by this program; use the matching glitchtip setting instead")
        elif isinstance(value, (dict, list)) or value is None:
            section.error(name, "must be a string, number or boolean")
        else:
            env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env
