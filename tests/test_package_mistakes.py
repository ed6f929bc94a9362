"""Bad arguments to the package's ErrorTracking are refused exactly as the same configuration is:
every bad-input case of tests/test_mistakes.py and tests/test_credentials.py, passed as a consumer
passes arguments (through the provider's construct path), gets the configuration's problems, each
named by its argument's path instead of `error-tracking:`, before any resource is declared; a
credential is judged by the secret-ness of the argument itself."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components import configuration
from components.package import argument_advice
from components.stack import preflight
from components.validation import ConfigError, config_advice
from tests import test_credentials, test_mistakes
from tests.harness import BASE_CONFIG
from tests.package_harness import accepted, refused

PREFIX = "error-tracking:"


def config_problems(config: dict[str, Any], secret_keys=()) -> list[str]:
    with pytest.raises(ConfigError) as error:
        preflight(configuration.load(config, frozenset(secret_keys)))
    return error.value.problems


def as_arguments(config: dict[str, Any], secret_keys=()) -> Any:
    """The configuration as a consumer's arguments: a key set with `--secret` passed as a secret."""
    return lambda: {k: pulumi.Output.secret(v) if k in secret_keys else v for k, v in config.items()}


def argument_problem(problem: str) -> str:
    """A configuration problem as the package says it: the argument's path, and how to pass a secret."""
    assert problem.startswith(PREFIX), problem  # every problem names its full setting
    path = problem[len(PREFIX):].split(": ", 1)[0]
    return problem[len(PREFIX):].replace(config_advice(path), argument_advice(path))


@pytest.mark.parametrize("overrides, secret_keys, expected", [c[1:] for c in test_mistakes.CASES],
                         ids=[c[0] for c in test_mistakes.CASES])
def test_each_mistake_is_refused_with_the_configurations_messages(overrides, secret_keys, expected):
    config = {**BASE_CONFIG, **overrides}
    expected_problems = config_problems(config, secret_keys)
    found = refused(as_arguments(config, secret_keys))
    assert found == [argument_problem(p) for p in expected_problems]
    assert any(p.startswith(expected[len(PREFIX):]) for p in found)


@pytest.mark.parametrize("path", sorted(test_credentials.CASES))
def test_a_credential_in_clear_is_refused_and_as_a_secret_argument_accepted(path):
    overrides, key = test_credentials.CASES[path]
    config = {**BASE_CONFIG, **overrides}
    found = refused(config)
    assert found == [argument_problem(p) for p in config_problems(config)]
    assert test_credentials.PASSWORD not in "\n".join(found)
    # The credential alone passed as a secret, its neighbours in clear: accepted, as a stack file
    # with only that value `secure:` is.
    if config.get("platform") == "kubernetes":
        config["kubernetes"] = {**test_mistakes.CLUSTER, **config["kubernetes"]}
    assert accepted(lambda: with_secret_leaf(config, key)).is_secret(key.split(".")[0])


def with_secret_leaf(config: dict[str, Any], key: str) -> dict[str, Any]:
    *parents, leaf = key.split(".")
    copy = {k: v for k, v in config.items()}
    node = copy
    for part in parents:
        node[part] = dict(node[part])
        node = node[part]
    node[leaf] = pulumi.Output.secret(node[leaf])
    return copy
