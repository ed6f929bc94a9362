"""The stack's configuration, read and validated in full before any resource is declared.

Top-level keys live here; each app (`glitchtip: {...}`) and each platform (`docker: {...}`,
`kubernetes: {...}`) validates its own section through the registries, so adding one never
touches this file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from components.validation import (
    PROJECT,
    Problems,
    Section,
    email_problem,
    url_problem,
)

# GlitchTip and Sentry accept these SDK platform names for a project; "other" is the neutral one.
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,49}$")
PROJECT_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
K8S_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


@dataclass(frozen=True)
class Project:
    name: str
    platform: str
    slug: str


@dataclass(frozen=True)
class EnvFileTarget:
    path: str
    key: str


@dataclass(frozen=True)
class KubernetesSecretTarget:
    namespace: str
    name: str
    key: str


@dataclass(frozen=True)
class DsnTarget:
    """Where one project's DSN is delivered, so that the app reading it needs no copy-paste."""

    project: str
    env_file: Optional[EnvFileTarget] = None
    kubernetes_secret: Optional[KubernetesSecretTarget] = None


@dataclass(frozen=True)
class StackSettings:
    app: str
    platform: str
    url: str
    admin_email: str
    organization: str
    projects: tuple[Project, ...]
    dsn_targets: tuple[DsnTarget, ...]
    # An existing PostgreSQL / Valkey (Redis) to use instead of running one; secret values.
    database_url: Optional[str]
    valkey_url: Optional[str]
    # The app's and the platform's own settings, as their modules parsed them.
    app_settings: Any
    platform_settings: Any

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def slugify(name: str) -> str:
    """The slug GlitchTip/Sentry derive from a project name (Django's slugify, ASCII names)."""
    slug = re.sub(r"[^\w\s-]", "", name.lower())
    return re.sub(r"[-\s]+", "-", slug).strip("-_")


def project_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """This project's keys (`error-tracking:x` -> `x`), structured values decoded from JSON."""
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(prefix):
            continue
        if isinstance(value, str):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            # Keep plain strings as they are: "8080" stays a string for the checks to judge.
            value = decoded if isinstance(decoded, (dict, list, bool)) else value
        values[key[len(prefix):]] = value
    return values


def load(values: Mapping[str, Any]) -> StackSettings:
    """Validate the stack's configuration; raises ConfigError naming every problem."""
    from components import apps, platforms

    problems = Problems()
    top = Section(dict(values), PROJECT, problems)
    app = top.string("app", "glitchtip", choices=apps.names())
    platform = top.string("platform", "docker", choices=platforms.names())
    url = top.string("url", check=url_problem)
    admin_email = top.string("adminEmail", check=email_problem)
    organization = top.string(
        "organization",
        "errors",
        check=lambda v: None if PROJECT_NAME.match(v) else
        "must be 1-50 letters, digits, spaces, dots, dashes or underscores",
    )
    projects = _projects(top)
    dsn_targets = _dsn_targets(top, projects, platform)
    database_url = top.string(
        "databaseUrl", None, check=_secret_url_problem("postgres", "postgresql"), secret=True
    )
    valkey_url = top.string(
        "valkeyUrl", None, check=_secret_url_problem("redis", "rediss", "valkey", "valkeys"), secret=True
    )

    # Every app and platform section is read, so a key for one that is not selected is
    # still checked rather than silently ignored.
    app_settings = None
    for name in apps.names():
        parsed = apps.get(name).parse_settings(top.section(name), problems)
        if name == app:
            app_settings = parsed
    platform_settings = None
    for name in platforms.names():
        parsed = platforms.get(name).parse_settings(top.section(name), problems)
        if name == platform:
            platform_settings = parsed

    top.finish()
    for name, plugin in (("app", app and apps.get(app)), ("platform", platform and platforms.get(platform))):
        if plugin is not None and getattr(plugin, "unsupported", None):
            problems.add(f"{PROJECT}:{name}", plugin.unsupported)
    problems.raise_if_any()
    return StackSettings(
        app=app,
        platform=platform,
        url=url.rstrip("/"),
        admin_email=admin_email,
        organization=organization,
        projects=projects,
        dsn_targets=dsn_targets,
        database_url=database_url,
        valkey_url=valkey_url,
        app_settings=app_settings,
        platform_settings=platform_settings,
    )


def _projects(top: Section) -> tuple[Project, ...]:
    projects: list[Project] = []
    items = top.sections("projects")
    if not items and isinstance(top.data.get("projects", []), list):
        top.error("projects", "is required: a list of at least one {name, platform?}, one per application")
    seen: dict[str, str] = {}
    for item in items:
        name = item.string(
            "name",
            check=lambda v: None if PROJECT_NAME.match(v) else
            "must be 1-50 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit",
        )
        platform = item.string(
            "platform",
            "other",
            check=lambda v: None if PROJECT_PLATFORM.match(v) else
            "must be an SDK platform name such as python, node, javascript-react, go, other",
        )
        item.finish()
        if not name:
            continue
        slug = slugify(name)
        if slug in seen:
            item.error("name", f'duplicates project "{seen[slug]}" (both are "{slug}" as a slug); names must be unique')
            continue
        seen[slug] = name
        projects.append(Project(name=name, platform=platform, slug=slug))
    return tuple(projects)


def _dsn_targets(top: Section, projects: tuple[Project, ...], platform: Optional[str]) -> tuple[DsnTarget, ...]:
    names = {p.name for p in projects}
    targets: list[DsnTarget] = []
    seen_files: set[tuple[str, str]] = set()
    seen_secrets: set[tuple[str, str]] = set()
    for item in top.sections("dsnTargets"):
        project = item.string("project")
        if project is not None and names and project not in names:
            item.error("project", f"must name a configured project ({', '.join(sorted(names))}), got \"{project}\"")
        env_file = _env_file(item) if item.has("envFile") else None
        secret = _kubernetes_secret(item) if item.has("kubernetesSecret") else None
        item.seen.update({"envFile", "kubernetesSecret"})  # read above when present
        item.finish()
        if env_file is None and secret is None:
            if not item.has("envFile") and not item.has("kubernetesSecret"):
                item.error("envFile", "or kubernetesSecret is required: where to deliver the DSN")
            continue
        if env_file is not None:
            if platform != "docker":
                item.error("envFile", "needs platform: docker (the file is written on the Docker host)")
            elif (env_file.path, env_file.key) in seen_files:
                item.error("envFile", f"{env_file.key} in {env_file.path} is already the target of another entry")
            seen_files.add((env_file.path, env_file.key))
        if secret is not None:
            if platform != "kubernetes":
                item.error("kubernetesSecret", "needs platform: kubernetes")
            elif (secret.namespace, secret.name) in seen_secrets:
                item.error("kubernetesSecret", f"{secret.namespace}/{secret.name} is already the target of another "
                           "entry; use one Secret per project")
            seen_secrets.add((secret.namespace, secret.name))
        targets.append(DsnTarget(project=project, env_file=env_file, kubernetes_secret=secret))
    return tuple(targets)


def _env_file(item: Section) -> Optional[EnvFileTarget]:
    section = item.section("envFile")
    path = section.string(
        "path",
        check=lambda v: None if v.startswith("/") and not v.endswith("/") and "\n" not in v
        and "/../" not in v + "/" else "must be an absolute path to a file on the Docker host",
    )
    key = section.string(
        "key", "SENTRY_DSN", check=lambda v: None if ENV_KEY.match(v) else "must be an environment variable name"
    )
    section.finish()
    return EnvFileTarget(path=path, key=key) if path and key else None


def _kubernetes_secret(item: Section) -> Optional[KubernetesSecretTarget]:
    section = item.section("kubernetesSecret")
    dns_label = lambda v: None if K8S_NAME.match(v) and len(v) <= 63 else "must be a Kubernetes name (lower-case letters, digits, dashes)"
    namespace = section.string("namespace", check=dns_label)
    name = section.string("name", check=dns_label)
    key = section.string(
        "key", "SENTRY_DSN", check=lambda v: None if K8S_KEY.match(v) else "must be a Secret key (letters, digits, -, _, .)"
    )
    section.finish()
    if namespace and name and key:
        return KubernetesSecretTarget(namespace=namespace, name=name, key=key)
    return None


def _secret_url_problem(*schemes: str):
    """Check a secret URL without ever echoing it: the message names only the allowed schemes."""

    def check(value: str) -> Optional[str]:
        parts = urlsplit(value)
        if parts.scheme in schemes and parts.hostname:
            return None
        return f"must be a {' or '.join(s + '://' for s in schemes)} URL with a host"

    return check
