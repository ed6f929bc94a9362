"""What every app needs from the stack's top-level settings, and a way to route values by secrecy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.operations.settings import AlertSettings, BackupSettings
from components.settings import Project, StackSettings, slugify


@dataclass(frozen=True)
class Site:
    """Where the app is reached, who administers it, what to create in it."""

    url: str
    host: str
    admin_email: str
    organization: str
    projects: tuple[Project, ...]
    database_url: Optional[str] = None  # an existing PostgreSQL (secret)
    valkey_url: Optional[str] = None  # an existing Valkey/Redis (secret)
    # Top-level settings the operator set as secrets: their values reach containers as secrets.
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    # Backups of the app's own database and the watchdog's alert targets (components.operations).
    backup: Optional[BackupSettings] = None
    alerts: Optional[AlertSettings] = None

    @property
    def team(self) -> str:
        """The team every project belongs to: the organization's name as a slug."""
        return slugify(self.organization) or "team"

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys


def site_of(settings: StackSettings) -> Site:
    return Site(
        url=settings.url,
        host=settings.host,
        admin_email=settings.admin_email,
        organization=settings.organization,
        projects=settings.projects,
        database_url=settings.database_url,
        valkey_url=settings.valkey_url,
        secret_keys=settings.secret_keys,
        backup=settings.backup,
        alerts=settings.alerts,
    )


@dataclass
class Env:
    """Plain and secret variables; a value from a secret setting goes to the secret side."""

    plain: dict = field(default_factory=dict)
    secret: dict = field(default_factory=dict)

    def put(self, name: str, value, secret: bool = False) -> None:
        (self.secret if secret else self.plain)[name] = pulumi.Output.secret(value) if secret else value
