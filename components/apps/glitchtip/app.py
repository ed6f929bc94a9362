"""The GlitchTip component: its generated secrets, its description, and its DSNs."""

from __future__ import annotations

from typing import Mapping, Optional

import pulumi

from components import dsn, secrets
from components.apps.glitchtip.services import Secrets, describe
from components.apps.site import site_of
from components.operations.settings import email_transport_problem
from components.settings import StackSettings
from components.validation import ConfigError

TYPE = "error-tracking:apps:GlitchTip"


def describe_without_secrets(settings: StackSettings):
    """The same description with placeholders for the secrets: for checks before any resource."""
    if settings.alerts is not None:
        problem = email_transport_problem(settings.alerts, settings.app_settings.email_url)
        if problem:
            raise ConfigError([f"error-tracking:alerts.email: {problem}"])
    placeholder = "(generated)"
    return describe(site_of(settings), settings.app_settings, Secrets(*[placeholder] * 5))


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
