"""The GlitchTip component: its generated secrets, its description, and its DSNs."""

from __future__ import annotations

from typing import Mapping, Optional

import pulumi

from components import dsn, secrets
from components.apps.glitchtip.services import Secrets, describe
from components.apps.glitchtip.settings import postgres_memory_problem
from components.apps.site import site_of
from components.operations.settings import email_transport_problem, unused_backup_problems
from components.settings import StackSettings
from components.validation import ConfigError

TYPE = "error-tracking:apps:GlitchTip"


def describe_without_secrets(settings: StackSettings):
    """The same description with placeholders for the secrets: for checks before any resource."""
    problems = unused_settings(settings)
    if not settings.database_url:
        problems += [p for p in [postgres_memory_problem(settings.app_settings)] if p]
    if settings.alerts is not None:
        problem = email_transport_problem(settings.alerts, settings.app_settings.email_url)
        if problem:
            problems.append(f"error-tracking:alerts.email: {problem}")
    if problems:
        raise ConfigError(problems)
    placeholder = "(generated)"
    return describe(site_of(settings), settings.app_settings, Secrets(*[placeholder] * 5))


def unused_settings(settings: StackSettings) -> list[str]:
    """Settings for a store this stack does not run: refused rather than silently ignored."""
    app = settings.app_settings
    problems = []
    if settings.valkey_url and not app.valkey:
        problems.append("error-tracking:valkeyUrl: is not used: glitchtip.valkey is false (Postgres-only mode, no "
                        "Valkey at all); remove it or set glitchtip.valkey true")
    for key in sorted(app.store_settings):
        if "postgres" in key.lower() and settings.database_url:
            why = "databaseUrl replaces the Postgres this stack would run"
        elif "valkey" in key.lower() and settings.valkey_url:
            why = "valkeyUrl replaces the Valkey this stack would run"
        elif key == "valkeyImage" and not app.valkey:
            why = "glitchtip.valkey is false, so no Valkey runs"
        else:
            continue
        problems.append(f"error-tracking:glitchtip.{key}: is not used: {why}; remove it")
    if settings.database_url:
        problems += unused_backup_problems(settings.backup, "with databaseUrl the database is yours and so are its "
                                           "backups (this stack backs up only the Postgres it runs)")
    return problems


class GlitchTip(pulumi.ComponentResource):
    """Generates SECRET_KEY (64 hex), the Postgres and Valkey passwords (32 hex), the admin
    password and the CI auth token (64 hex), and describes GlitchTip's services for a platform
    to run. Declares no platform resources."""

    report_task = "bootstrap"

    def __init__(self, name: str, settings: StackSettings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        self._settings = settings
        generated = Secrets(
            secret_key=secrets.hex_secret(f"{name}-secret-key", 64, self),
            postgres_password=secrets.hex_secret(f"{name}-postgres-password", 32, self),
            valkey_password=secrets.hex_secret(f"{name}-valkey-password", 32, self),
            admin_password=secrets.password(f"{name}-admin-password", 24, self),
            auth_token=secrets.hex_secret(f"{name}-auth-token", 64, self),
        )
        self.admin_password = generated.admin_password
        self._auth_token = generated.auth_token
        self.spec = describe(site_of(settings), settings.app_settings, generated)
        self.register_outputs({"adminPassword": self.admin_password, "authToken": self._auth_token})

    def auth_token(self, task_output: pulumi.Output[str]) -> pulumi.Output[str]:
        """Generated here and stored by the bootstrap; the same value on every run."""
        return pulumi.Output.secret(self._auth_token)

    def dsns(self, task_output: pulumi.Output[str]) -> pulumi.Output[Mapping[str, str]]:
        names = [p.name for p in self._settings.projects]
        url = self._settings.url
        return pulumi.Output.secret(task_output.apply(lambda text: dsn.dsns_from_output(text, names, url)))
