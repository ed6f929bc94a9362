"""The whole deployment: the chosen app, realized on the chosen platform, its DSNs delivered."""

from __future__ import annotations

from typing import Any, Optional

import pulumi

from components import apps, platforms
from components.plugins import PlatformArgs
from components.settings import StackSettings, slugify
from components.validation import ConfigError

TYPE = "error-tracking:index:ErrorTracking"


def preflight(settings: StackSettings) -> None:
    """Checks that need the app's description (volume names...), still before any resource."""
    spec = apps.get(settings.app).describe(settings)
    check = platforms.get(settings.platform).check
    problems = check(spec, settings.platform_settings) if check else []
    if problems:
        raise ConfigError(problems)


class ErrorTracking(pulumi.ComponentResource):
    """Parent of everything: app (secrets + description) -> platform (resources) -> DSN sinks."""

    def __init__(self, name: str, settings: StackSettings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.app = apps.get(settings.app).create(settings.app, settings, child)
        self.platform = platforms.get(settings.platform).create(
            f"{settings.app}-{settings.platform}",
            PlatformArgs(spec=self.app.spec, settings=settings.platform_settings, url=settings.url,
                         protect=settings.protect, url_secret=settings.is_secret("url")),
            child,
        )

        def shown(key: str, value: Any) -> pulumi.Output:
            """A setting echoed as an output stays secret when the operator set it as one."""
            output = pulumi.Output.from_input(value)
            return pulumi.Output.secret(output) if settings.is_secret(key) else output

        self.url = shown("url", settings.url)
        self.admin_email = shown("adminEmail", settings.admin_email)
        self.organization = shown("organization", settings.organization)
        self.projects = shown("projects", [p.name for p in settings.projects])
        self.admin_password = pulumi.Output.secret(self.app.admin_password)
        self.auth_token = pulumi.Output.secret(self.app.auth_token)
        self.dsns = pulumi.Output.secret(self.app.dsns(self.platform.task_output(self.app.report_task)))
        deliveries = {}
        for index, target in enumerate(settings.dsn_targets):
            dsn = self.dsns.apply(lambda dsns, project=target.project: dsns[project])
            label = "project" if settings.is_secret("projects") else slugify(target.project) or "project"
            deliveries[f"{index}"] = self.platform.deliver_dsn(f"{index}-{label}", target, dsn)
        self.deliveries = pulumi.Output.all(**deliveries) if deliveries else pulumi.Output.from_input({})
        self.register_outputs({
            "url": self.url,
            "adminEmail": self.admin_email,
            "adminPassword": self.admin_password,
            "authToken": self.auth_token,
            "dsns": self.dsns,
        })
