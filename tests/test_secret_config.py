"""A value set with `pulumi config set --secret` stays secret wherever it lands: every app, every
platform, every top-level key, one key at a time.

Pulumi tells a program only which top-level keys hold a secret; the program then treats every
value read from such a key as secret. For each app × platform × top-level key, the key gets a
distinctive marker in each of its values that reach a resource (a plain value, only MARKED secret,
as the engine would hand it over), and every declared resource (inputs, command lines, files,
provider settings) and every plain stack output is searched for the marker in clear. One key at a
time: a value built from two settings must be secret when either one is, which setting every key
secret at once would never show.

Keys are read from components.configuration.top_level_keys(), so a new key fails here until it has
a sample below or is named in NO_VALUES with the reason it carries nothing to keep secret.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import pytest

from components import apps, configuration, platforms
from tests.harness import deploy
from tests.secret_values import plain_strings, unwrap

# Keys whose values are a choice or a switch, never free text: nothing in them could be a secret.
NO_VALUES = {
    "app": "one of the app names",
    "platform": "one of the platform names",
    "protect": "true or false",
    "postDeployCheck": "{enabled, timeoutSeconds}: a switch and a number",
}


# What every Kubernetes stack names: its edge, and a ReadWriteMany class for GlitchTip's uploads.
KUBERNETES = {"ingress": {"controllerNamespace": "ingress-nginx"}, "sharedStorageClass": "nfs-rwx"}


def marker(key: str) -> str:
    """Distinctive, and valid in host names, e-mail addresses, paths and names alike."""
    return f"zq{key.lower()}zq"


def sample(key: str, app: str, platform: str) -> Optional[dict[str, Any]]:
    """Configuration that puts `marker(key)` into every kind of value `key` carries on this
    app and platform; None where the key does not apply (another app's or platform's section,
    GlitchTip's store URLs on Sentry, which refuses them)."""
    m = marker(key)
    if key in apps.names() and key != app or key in platforms.names() and key != platform:
        return None
    samples = {
        "url": {"url": f"https://{m}.example.com"},
        "adminEmail": {"adminEmail": f"{m}@example.com"},
        "organization": {"organization": f"Org {m}"},
        "projects": {"projects": [{"name": "api"}, {"name": "web"}, {"name": f"{m}-app", "platform": "python"}]},
        "dsnTargets": {"dsnTargets": [
            {"project": "api", "envFile": {"path": f"/opt/{m}/.env", "key": "API_DSN"}},
            {"project": "web", "envFile": {"path": "/opt/web/.env", "host": f"ssh://deploy@{m}.example.com"}},
        ] if platform == "docker" else [
            {"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "api-dsn", "key": f"{m}_DSN"}},
        ]},
        "databaseUrl": {"databaseUrl": f"postgres://gt:{m}@db-{m}.internal:5432/glitchtip"}
        if app == "glitchtip" else None,
        "valkeyUrl": {"valkeyUrl": f"redis://:{m}@cache-{m}.internal:6379/0"} if app == "glitchtip" else None,
        "backup": {"backup": {"offsite": {
            "endpoint": f"https://{m}.s3.example.com", "bucket": f"{m}-bucket", "prefix": f"{m}/dumps",
            "region": m, "accessKeyId": f"{m}-id", "secretAccessKey": f"{m}-secret"}}},
        "alerts": {"alerts": {
            "telegram": {"botToken": f"123456:{m}aaaaaaaaaaaaaaaaaaaaaaaa", "chatId": f"@{m}"},
            "webhook": {"url": f"https://{m}.example.com/hook"},
            **({"email": {"to": f"{m}@example.com"}} if app == "sentry" else {})}},
        "glitchtip": {"glitchtip": {
            "env": {"EXTRA_SETTING": m}, "fromEmail": f"{m}@example.com",
            "emailUrl": f"smtp+tls://mailer:{m}@smtp-{m}.example.com:587"}},
        "sentry": {"sentry": {
            **({"internalNetworks": ["10.42.0.0/16"]} if platform == "kubernetes" else {}),
            "env": {"SENTRY_EXTRA": m},
            "mail": {"host": f"smtp-{m}.example.com", "username": m, "password": f"{m}-pw", "from": f"{m}@example.com"},
            "external": {"postgres": {"host": f"pg-{m}.example.com", "username": m, "password": f"{m}-pg",
                                      "database": m}}}},
        "docker": {"docker": {"host": f"ssh://{m}@docker-{m}.example.com",
                              "sshOpts": ["-i", f"/home/{m}/.ssh/id"], "hostPaths": {"backups": f"/var/{m}"}}},
        "kubernetes": {"kubernetes": {**KUBERNETES, "context": m,
                                      "kubeconfig": f"apiVersion: v1\nkind: Config\n# {m}\n",
                                      "ingress": {**KUBERNETES["ingress"], "annotations": {"example.com/note": m}}}},
    }
    if key not in samples:
        raise AssertionError(f"top-level key {key!r} has no sample here: give it one that sets "
                             f"{marker(key)!r} in each of its values, or name it in NO_VALUES with the reason")
    return samples[key]


def everything_on(app: str, platform: str) -> dict[str, Any]:
    """Every feature that carries a setting somewhere (mail alerts, backups and the drill, a DSN
    target, the post-deploy check), with nothing in it set as a secret: a value built from the key
    under test and another setting is then built here too."""
    config: dict[str, Any] = {
        "app": app, "platform": platform, "postDeployCheck": {"enabled": True},
        "alerts": {"email": {"to": "ops@example.com"}},
        "dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env"}}] if platform == "docker"
        else [{"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "api-dsn"}}],
    }
    if app == "glitchtip":
        config["glitchtip"] = {"emailUrl": "smtp://smtp.example.com:25"}  # alerts.email sends through it
    if app == "sentry" and platform == "kubernetes":
        config["sentry"] = {"internalNetworks": ["10.42.0.0/16"]}
    if platform == "kubernetes":
        config["kubernetes"] = KUBERNETES
    return config


def cases():
    for app in apps.names():
        for platform in platforms.names():
            for key in configuration.top_level_keys():
                if key not in NO_VALUES:
                    yield pytest.param(app, platform, key, id=f"{app}-{platform}-{key}")


def found(deployment, text: str, *, in_clear: bool) -> list[str]:
    """Where `text` is: in clear only, or anywhere (secret values unwrapped too)."""
    strings = plain_strings if in_clear else (lambda raw: plain_strings(unwrap(raw)))
    places = [f"{d.typ} {d.name}" for d in deployment.declared if any(text in s for s in strings(d.raw))]
    places += [f"output {name}" for name, value in deployment.outputs.items()
               if (name not in deployment.secret_outputs or not in_clear) and text in repr(value)]
    return places


@pytest.mark.parametrize("app, platform, key", list(cases()))
def test_a_value_set_as_a_secret_never_reaches_state_or_logs_in_clear(app, platform, key, caplog):
    overrides = sample(key, app, platform)
    if overrides is None:
        return  # another app's or platform's section: read and checked, used by nothing here
    with caplog.at_level(logging.DEBUG):
        deployment = deploy({**everything_on(app, platform), **overrides}, secret_keys=(key,))
    # Not vacuous: the sample's values do reach resources (as secrets).
    assert found(deployment, marker(key), in_clear=False), f"{key}: the sample's marker reaches no resource"
    assert found(deployment, marker(key), in_clear=True) == []
    assert [r.getMessage() for r in caplog.records if marker(key) in r.getMessage()] == []


def test_every_top_level_key_is_sampled_or_carries_no_value():
    assert set(NO_VALUES) <= set(configuration.top_level_keys())
    for key in configuration.top_level_keys():
        if key not in NO_VALUES:
            sample(key, "glitchtip", "docker")
