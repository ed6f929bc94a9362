"""The Pulumi program as a function: read and check the configuration, then declare the stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

import pulumi
import yaml
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


def plain_paths(stack: str, directory: Optional[Path] = None) -> Optional[frozenset[str]]:
    """The dotted paths of this project's values that the stack's file (`Pulumi.<stack>.yaml`)
    keeps in clear, or None when there is no such file to read (configuration kept elsewhere).

    Pulumi tells the program only which top-level keys hold a secret somewhere below them; the
    file says of each value whether it was set with `--secret` (a `secure:` leaf)."""
    directory = directory or Path.cwd()
    project = _read_yaml(directory / "Pulumi.yaml") or {}
    config_dir = directory / str(project.get("stackConfigDir") or ".")
    stack_file = _read_yaml(config_dir / f"Pulumi.{stack}.yaml")
    if not isinstance(stack_file, dict):
        return None
    prefix = f"{PROJECT}:"
    config = stack_file.get("config") or {}
    return frozenset(path for key, value in config.items() if str(key).startswith(prefix)
                     for path in _plain_leaves(value, str(key)[len(prefix):]))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def _plain_leaves(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _plain_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _plain_leaves(item, f"{path}[{index}]")
    else:
        yield path


def run() -> ErrorTracking:
    values = configuration.project_config(raw_config())
    try:
        settings = configuration.load(values, secret_keys(values), plain_paths(pulumi.get_stack()))
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
