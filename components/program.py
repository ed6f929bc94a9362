"""The Pulumi program as a function: read and check the configuration, then declare the stack."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from components import settings as stack_settings
from components.stack import ErrorTracking, preflight
from components.validation import ConfigError


def raw_config() -> dict:
    """Every configuration value the engine passed in (tests set them with set_all_config)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def run() -> ErrorTracking:
    try:
        settings = stack_settings.load(stack_settings.project_config(raw_config()))
        preflight(settings)
    except ConfigError as error:
        # A clean message naming every bad setting, not a stack trace.
        raise pulumi.RunError(str(error)) from None
    stack = ErrorTracking("error-tracking", settings)
    pulumi.export("url", stack.url)
    pulumi.export("adminEmail", stack.admin_email)
    pulumi.export("adminPassword", stack.admin_password)
    pulumi.export("dsns", stack.dsns)
    pulumi.export("organization", settings.organization)
    pulumi.export("projects", [p.name for p in settings.projects])
    if settings.dsn_targets:
        pulumi.export("dsnDeliveries", stack.deliveries)
    return stack
