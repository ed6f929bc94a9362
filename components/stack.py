"""The whole deployment: the chosen app, realized on the chosen platform, its DSNs delivered."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import pulumi

from components import apps, deploy_check, platforms
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

    def __init__(self, name: str, settings: StackSettings, opts: Optional[pulumi.ResourceOptions] = None, *,
                 child_prefix: str = "", provider: Optional[pulumi.ProviderResource] = None,
                 build_root: Optional[str] = None):
        """`child_prefix` starts the names of the app and the platform (the Python program: none, so
        that its stacks keep every URN; the package: the component's own name, so that two of them
        in one stack never collide); `provider`: the platform's provider, passed in instead of made;
        `build_root`: where the images the platform builds are described (components.package)."""
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The app bootstraps the check's project too; only the operator's projects go further.
        bootstrapped = dataclasses.replace(settings, projects=settings.bootstrapped_projects)
        self.app = apps.get(settings.app).create(f"{child_prefix}{settings.app}", bootstrapped, child)
        self.platform = platforms.get(settings.platform).create(
            f"{child_prefix}{settings.app}-{settings.platform}",
            PlatformArgs(spec=self.app.spec, settings=settings.platform_settings, url=settings.url,
                         protect=settings.protect, url_secret=settings.is_secret("url"), provider=provider,
                         build_root=build_root),
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
        report = self.platform.task_output(self.app.report_task)
        self.auth_token = pulumi.Output.secret(self.app.auth_token(report))
        every_dsn = pulumi.Output.secret(self.app.dsns(report))
        # What this stack runs: the next deployment reads it back (upgrade paths).
        # An app may add facts of its own (where its data lives), a platform what it checks against
        # (its claims' sizes), for the next deployment to check.
        self.deployed = pulumi.Output.from_input({"app": settings.app, "version": self.app.spec.version,
                                                  **getattr(self.platform, "recorded", {}),
                                                  **getattr(self.app, "deployed_facts", {})})
        self.dsns = every_dsn.apply(lambda dsns: {k: v for k, v in dsns.items() if k != deploy_check.PROJECT_NAME})
        self.check = None
        check = settings.post_deploy_check
        if check.enabled:
            self.check = self.platform.post_deploy_check(
                every_dsn.apply(lambda dsns: dsns[deploy_check.PROJECT_NAME]),
                [self.app.spec.name, self.app.spec.version, shown("url", settings.url)],
                check.timeout_seconds,
            )
        deliveries = {}
        for index, target in enumerate(settings.dsn_targets):
            dsn = self.dsns.apply(lambda dsns, project=target.project: dsns[project])
            label = "project" if settings.is_secret("projects") else slugify(target.project) or "project"
            delivered = self.platform.deliver_dsn(f"{index}-{label}", target, dsn)
            deliveries[f"{index}"] = pulumi.Output.secret(delivered) if target.secret else delivered
        self.deliveries = pulumi.Output.all(**deliveries) if deliveries else pulumi.Output.from_input({})
        self.register_outputs({
            "url": self.url,
            "adminEmail": self.admin_email,
            "adminPassword": self.admin_password,
            "authToken": self.auth_token,
            "dsns": self.dsns,
            "deployed": self.deployed,
        })
