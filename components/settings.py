"""The stack's settings as the program uses them once read: the shared types every app gets.

Nothing here reads configuration or knows an app or a platform: components.configuration reads
the `error-tracking:` keys (each app's and platform's section through the registries) into a
`StackSettings`; apps take it and the helpers below for their own sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from components import deploy_check
from components.deploy_check import DeployCheckSettings
from components.operations.settings import AlertSettings, BackupSettings
from components.plugins import DsnTarget
from components.validation import Section

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def extra_env(section: Section, managed: Mapping[str, str]) -> dict[str, str]:
    """`env: {VARIABLE: value}` of an app: scalar values only; a variable the program sets itself
    (`managed`: name -> the setting to use instead) is refused by name."""
    raw = section.raw("env", {})
    if not isinstance(raw, dict):
        section.error("env", "must be an object of VARIABLE: value")
        return {}
    env = {}
    for key, value in raw.items():
        name = f"env.{key}"
        if not ENV_KEY.match(str(key)):
            section.error(name, "is not an environment variable name")
        elif key in managed:
            section.error(name, f"is set by this program from {managed[key]}; use that instead")
        elif isinstance(value, (dict, list)) or value is None:
            section.error(name, "must be a string, number or boolean")
        else:
            env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@dataclass(frozen=True)
class Project:
    name: str
    platform: str


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
    # Data volumes get `protect` too (a prod stack asks for it): `pulumi destroy` then refuses.
    protect: bool = False
    # Top-level keys holding a value set with `pulumi config set --secret`.
    secret_keys: frozenset[str] = frozenset()
    post_deploy_check: DeployCheckSettings = DeployCheckSettings()
    # Backups of the app's own database (daily dump, restore drill, off-site copies) and the
    # watchdog's alert targets (components.operations).
    backup: Optional[BackupSettings] = None
    alerts: Optional[AlertSettings] = None
    # What the chosen platform can do (components.spec.BUILDS_IMAGES...): apps ask this, never its name.
    platform_capabilities: frozenset[str] = frozenset()

    @property
    def bootstrapped_projects(self) -> tuple[Project, ...]:
        """What the app creates: the operator's projects, and the check's own when it is on."""
        if not self.post_deploy_check.enabled:
            return self.projects
        return (*self.projects, Project(name=deploy_check.PROJECT_NAME, platform=deploy_check.PROJECT_PLATFORM))

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys


def slugify(name: str) -> str:
    """A readable resource-name fragment from a project name (never the app's own slug)."""
    slug = re.sub(r"[^\w\s-]", "", name.lower())
    return re.sub(r"[-\s_]+", "-", slug).strip("-")
