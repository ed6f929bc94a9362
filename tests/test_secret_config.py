"""A value set with `pulumi config set --secret` stays secret wherever it lands, for every key.

Pulumi tells a program only which top-level keys hold a secret; the program then treats every
free-form value from such a key as secret. Each case sets a distinctive marker as a PLAIN value,
marks its top-level key secret, deploys on both platforms and searches every declared resource
and every stack output for the marker in clear.
"""

import pytest

from tests.harness import deploy, plain_strings

MARKER = "marker7q"

# A distinctive value per top-level key: a leak names its key.
CASES = {
    "glitchtip": {"glitchtip": {"env": {"AWS_SECRET_ACCESS_KEY": f"{MARKER}-glitchtip"},
                                "fromEmail": f"{MARKER}-glitchtip@example.com"}},
    "adminEmail": {"adminEmail": f"{MARKER}-adminemail@example.com"},
    "organization": {"organization": f"Org {MARKER}-organization"},
    "projects": {"projects": [{"name": f"api-{MARKER}-projects"}]},
    "url": {"url": f"https://{MARKER}-url.example.com"},
}
EVERY_KEY = {k: v for case in CASES.values() for k, v in case.items()}


def found_in_clear(deployment, marker: str = MARKER) -> list[str]:
    places = [d.name for d in deployment.declared if any(marker in s for s in plain_strings(d.raw))]
    places += [f"output {name}" for name, value in deployment.outputs.items()
               if name not in deployment.secret_outputs and marker in repr(value)]
    return places


@pytest.fixture(scope="module", params=["docker", "kubernetes"])
def all_secret(request):
    extra = {"kubernetes": {"sharedStorageClass": "nfs-rwx", "ingress": {"controllerNamespace": "ingress-nginx"}}} \
        if request.param == "kubernetes" else {}
    return deploy({**EVERY_KEY, "platform": request.param, **extra}, secret_keys=tuple(CASES))


@pytest.mark.parametrize("key", list(CASES))
def test_a_secret_setting_never_reaches_state_in_clear(all_secret, key):
    assert found_in_clear(all_secret, f"{MARKER}-{key.lower()}") == []


@pytest.mark.parametrize("key", ["glitchtip", "adminEmail"])
def test_the_same_setting_not_marked_secret_stays_readable(key):
    # The check above is not vacuous: without the secret mark the marker is in clear somewhere.
    assert found_in_clear(deploy(CASES[key])) != []


def test_a_secret_sentry_section_keeps_its_values_and_the_files_holding_them_secret():
    deployment = deploy({"app": "sentry", "sentry": {
        "env": {"SENTRY_EXTRA": f"{MARKER}-sentry-env"},
        "mail": {"host": f"{MARKER}-mail.example.com", "username": "mailer", "password": f"{MARKER}-mail-pw"},
    }}, secret_keys=("sentry",))
    assert found_in_clear(deployment) == []
