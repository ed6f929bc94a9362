"""The stack's configuration, read and validated in full before any resource is declared.

Top-level keys are read here; each app (`glitchtip: {...}`, `sentry: {...}`) and each platform
(`docker: {...}`, `kubernetes: {...}`) validates its own section through the registries, and each
platform parses the DSN target kinds it can deliver to, so adding one never touches this file.
The result is a components.settings.StackSettings.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

from components import apps, deploy_check, platforms
from components.operations.settings import parse_alerts, parse_backup
from components.plugins import DsnTarget
from components.settings import Project, StackSettings
from components.validation import (
    PROJECT,
    Problems,
    Section,
    base_url_problem,
    config_advice,
    credential_problems,
    email_problem,
)

# Top-level keys that are not an app's or a platform's own section.
STACK_KEYS = (
    "app", "platform", "url", "adminEmail", "organization", "projects", "dsnTargets",
    "databaseUrl", "valkeyUrl", "protect", "postDeployCheck", "backup", "alerts",
)

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,49}$")
# GlitchTip and Sentry accept these SDK platform names for a project; "other" is the neutral one.
PROJECT_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


def top_level_keys() -> tuple[str, ...]:
    """Every key the program reads under `error-tracking:` (Pulumi.yaml declares the same)."""
    return (*STACK_KEYS, *apps.names(), *platforms.names())


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


def load(values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset(),
         plain_paths: Optional[frozenset[str]] = None,
         secret_advice: Callable[[str], str] = config_advice) -> StackSettings:
    """Validate the stack's configuration; raises ConfigError naming every problem.

    `secret_keys`: the top-level keys holding a value set with `--secret`; `plain_paths`: the dotted
    paths the stack's file keeps in clear, when it could be read (components.program). The package
    (components.package) passes its arguments here the same way, with `secret_advice` saying how
    an argument is made a secret."""
    problems = Problems()
    problems.items.extend(credential_problems(values, frozenset(secret_keys), plain_paths, secret_advice))
    top = Section(dict(values), PROJECT, problems, secret_keys=frozenset(secret_keys))
    app = top.string("app", "glitchtip", choices=apps.names())
    platform = top.string("platform", "docker", choices=platforms.names())
    url = top.string("url", check=base_url_problem)
    admin_email = top.string("adminEmail", check=email_problem)
    organization = top.string(
        "organization",
        "errors",
        check=lambda v: None if PROJECT_NAME.match(v) else
        "must be 1-50 letters, digits, spaces, dots, dashes or underscores",
    )
    projects = _projects(top)
    dsn_targets = _dsn_targets(top, projects, platform)
    database_url = _credentials_url(top, "databaseUrl", "postgres", "postgresql")
    valkey_url = _credentials_url(top, "valkeyUrl", "redis", "rediss", "valkey", "valkeys")
    protect = top.boolean("protect", False)
    post_deploy_check = deploy_check.parse(top.section("postDeployCheck"))
    backup = parse_backup(top.section("backup"))
    alerts = parse_alerts(top.section("alerts"))

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

    platform_plugin = platform and platforms.get(platform)
    if url and platform_plugin and platform_plugin.url_problems and platform_settings is not None:
        problems.items.extend(platform_plugin.url_problems(url, platform_settings))
    _unselected_sections(top, app, platform)
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
        protect=protect,
        secret_keys=frozenset(secret_keys),
        post_deploy_check=post_deploy_check,
        backup=backup,
        alerts=alerts,
        platform_capabilities=platforms.get(platform).capabilities if platform else frozenset(),
    )


def _unselected_sections(top: Section, app: Optional[str], platform: Optional[str]) -> None:
    """Another app's or platform's section is checked (a typo is still a typo) but used by
    nothing: one that sets anything is refused rather than silently ignored."""
    for names, chosen, key in ((apps.names(), app, "app"), (platforms.names(), platform, "platform")):
        for name in names:
            if chosen and name != chosen and top.data.get(name):
                top.error(name, f"is not used: this stack's {key} is {chosen}, so nothing reads it; remove it "
                          f"(or set {key} to {name})")


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
        if name.lower() == deploy_check.PROJECT_NAME:
            item.error("name", f'"{name}" is reserved for the post-deploy check\'s own project (postDeployCheck); '
                       "choose another name")
            continue
        if name.lower() in seen:
            item.error("name", f'duplicates project "{seen[name.lower()]}" (names differing only in case are '
                       "the same project to a reader); names must be unique")
            continue
        seen[name.lower()] = name
        projects.append(Project(name=name, platform=platform))
    return tuple(projects)


def _dsn_targets(top: Section, projects: tuple[Project, ...], platform: Optional[str]) -> tuple[DsnTarget, ...]:
    """`[{project, <kind>: {...}}]` where each platform owns its kinds (envFile, kubernetesSecret)."""
    owners = {kind: name for name in platforms.names() for kind in platforms.get(name).dsn_targets}
    names = {p.name for p in projects}
    targets: list[DsnTarget] = []
    # Where each entry writes (a platform's target names it `destination`: a Secret, a file),
    # by the first entry that writes there: one writer per destination.
    writers: dict[Any, tuple[int, Any]] = {}
    for index, item in enumerate(top.sections("dsnTargets")):
        project = item.string("project")
        if project is not None and names and project not in names:
            item.error("project", f"must name a configured project ({', '.join(sorted(names))}), got \"{project}\"")
        kinds = [k for k in owners if item.has(k)]
        item.seen.update(owners)
        if len(kinds) != 1:
            item.error(" | ".join(owners), "exactly one is required: where to deliver the DSN")
            item.finish()
            continue
        kind = kinds[0]
        parsed = platforms.get(owners[kind]).dsn_targets[kind](item.section(kind))
        item.finish()
        if owners[kind] != platform:
            item.error(kind, f"needs platform: {owners[kind]} (this stack's platform is {platform})")
        elif parsed is not None:
            destination = getattr(parsed, "destination", parsed)
            if destination in writers:
                first, earlier = writers[destination]
                what = "the same target" if earlier == parsed else "the same destination, with another key,"
                item.error(kind, f"writes {what} as dsnTargets[{first}].{kind}: one entry per destination (each "
                           "entry is delivered on its own, and two writers of one Secret or file would undo each "
                           "other's work); give each project its own Secret or file")
                continue
            writers[destination] = (index, parsed)
            if project is not None:
                targets.append(DsnTarget(project=project, kind=kind, target=parsed, secret=top.is_secret("dsnTargets")))
    return tuple(targets)


def _credentials_url(top: Section, key: str, *schemes: str) -> Optional[str]:
    """An existing store's URL; "" (the default Pulumi.yaml declares, because a declared secret
    cannot have one) means not set. It holds a password: validation.CREDENTIALS refuses it unless
    it is set as a secret, and it is never echoed."""
    value = top.string(key, None, check=lambda v: None if v == "" else _secret_url_problem(*schemes)(v), secret=True)
    return value or None


def _secret_url_problem(*schemes: str):
    """Check a secret URL without ever echoing it: the message names only the allowed schemes."""

    def check(value: str) -> Optional[str]:
        parts = urlsplit(value)
        if parts.scheme in schemes and parts.hostname:
            return None
        return f"must be a {' or '.join(s + '://' for s in schemes)} URL with a host"

    return check
