"""The Pulumi program as a function: read and check the configuration, then declare the stack."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from components import configuration
from components.stack import ErrorTracking, preflight
from components.validation import PROJECT, ConfigError


def raw_config() -> dict:
    """Every configuration value the engine passed in (tests set them with set_all_config)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def secret_keys(values: dict) -> frozenset[str]:
    """Top-level keys holding a value set with `pulumi config set --secret` (all Pulumi tells us)."""
    return frozenset(key for key in values if runtime_config.is_config_secret(f"{PROJECT}:{key}"))


def run() -> ErrorTracking:
    values = configuration.project_config(raw_config())
    try:
        settings = configuration.load(values, secret_keys(values))
        preflight(settings)
    except ConfigError as error:
        # A clean message naming every bad setting, not a stack trace.
        raise pulumi.RunError(str(error)) from None
    stack = ErrorTracking("error-tracking", settings)
    outputs = {
        "url": stack.url,
        "adminEmail": stack.admin_email,
        "adminPassword": stack.admin_password,
        "authToken": stack.auth_token,
        "dsns": stack.dsns,
        "organization": stack.organization,
        "projects": stack.projects,
        "deployed": stack.deployed,
    }
    if settings.dsn_targets:
        outputs["dsnDeliveries"] = stack.deliveries
    if stack.check is not None:
        outputs["postDeployCheck"] = stack.check
    for name, output in outputs.items():
        pulumi.export(name, output)
    return stack
