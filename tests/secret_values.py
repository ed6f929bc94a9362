"""Values as Pulumi's RPC carries them: which are secret, and what is left in clear.

A secret travels wrapped ({SIG: SECRET, "value": ...}); the tests judge secrecy by that wrapping on
what the program declared, never by comparing values that are already secret.
"""

from __future__ import annotations

from typing import Any, Iterator

# Pulumi's RPC protocol marks a secret value as {SIG: SECRET, "value": ...}.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def is_wrapped_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def unwrap(value: Any) -> Any:
    """Plain values: secrets unwrapped, whole floats (how numbers arrive) back to ints."""
    if isinstance(value, dict):
        if is_wrapped_secret(value):
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plain_strings(value: Any) -> Iterator[str]:
    """Every string reachable WITHOUT passing through a secret: what state would hold in clear."""
    if is_wrapped_secret(value):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from plain_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from plain_strings(v)
    elif isinstance(value, str):
        yield value
