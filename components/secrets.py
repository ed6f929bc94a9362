"""Generated secrets: made by pulumi-random, secret in state and in every Output derived from them;
and workloads whose every value must travel as a secret."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import pulumi
import pulumi_random as random

W = TypeVar("W")


def hex_secret(name: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    """`length` lower-case hex characters (4 bits each), such as `openssl rand -hex` gives.

    RandomPassword (not RandomId) so that the value is secret in state; digits plus the special
    set "abcdef" is exactly the hex alphabet.
    """
    password = random.RandomPassword(
        name,
        length=length,
        lower=False,
        upper=False,
        numeric=True,
        special=True,
        override_special="abcdef",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(password.result)


def password(name: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A letters-and-digits password: safe in URLs, shells and env files without quoting."""
    generated = random.RandomPassword(
        name,
        length=length,
        special=False,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(generated.result)


def sealed(workload: W) -> W:
    """`workload` (a components.spec Service, Task or ScheduledTask) with every plain variable moved
    beside its secret ones: for a workload whose values come from a setting the operator set as a
    secret, where a rule per variable would miss the next one added."""
    env = getattr(workload, "env")
    if not env:
        return workload
    secret_env = {**{name: pulumi.Output.secret(value) for name, value in env.items()}, **getattr(workload, "secret_env")}
    return dataclasses.replace(workload, env={}, secret_env=secret_env)
