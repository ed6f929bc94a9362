"""A value set with `pulumi config set --secret` stays secret wherever it lands, for every key.

Pulumi tells a program only which top-level keys hold a secret; the program then treats every
free-form value from such a key as secret. Each case sets a distinctive marker as a PLAIN value,
marks its top-level key secret, deploys on both platforms and searches every declared resource
and every stack output for the marker in clear.
"""

import pytest

from tests.harness import deploy, plain_strings

MARKER = "marker7q"

CASES = {
    "glitchtip": {"glitchtip": {"env": {"AWS_SECRET_ACCESS_KEY": f"{MARKER}-aws"}, "fromEmail": f"{MARKER}@example.com"}},
    "adminEmail": {"adminEmail": f"{MARKER}@example.com"},
    "organization": {"organization": f"Org {MARKER}"},
    "projects": {"projects": [{"name": f"api-{MARKER}"}]},
    "url": {"url": f"https://{MARKER}.example.com"},
}


def found_in_clear(deployment) -> list[str]:
    places = [d.name for d in deployment.declared if any(MARKER in s for s in plain_strings(d.raw))]
    places += [f"output {name}" for name, value in deployment.outputs.items()
               if name not in deployment.secret_outputs and MARKER in repr(value)]
    return places


@pytest.mark.parametrize("platform", ["docker", "kubernetes"])
@pytest.mark.parametrize("key", list(CASES))
def test_a_secret_setting_never_reaches_state_in_clear(key, platform):
    deployment = deploy({**CASES[key], "platform": platform}, secret_keys=(key,))
    assert found_in_clear(deployment) == []


@pytest.mark.parametrize("key", ["glitchtip", "adminEmail"])
def test_the_same_setting_not_marked_secret_stays_readable(key):
    # The check above is not vacuous: without the secret mark the marker is in clear somewhere.
    assert found_in_clear(deploy(CASES[key])) != []
