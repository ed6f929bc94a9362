"""Generated secrets: their shape, where they reach GlitchTip, and that state never holds them in clear.

The mocks hand back RandomPassword results as PLAIN strings (the engine, not the SDK, would mark
them secret), so a value the program forgot to wrap is found in clear by `plain_strings`.
"""

import re

import pytest

from tests.harness import deploy, env_of
from tests.secret_values import plain_strings

HEX64 = ("0123456789abcdef" * 4)[:64]
HEX32 = ("0123456789abcdef" * 2)[:32]
ADMIN = ("aB3" * 8)[:24]


@pytest.fixture(scope="module")
def default():
    return deploy()


def uploads(container) -> dict[str, dict]:
    return {u["file"]: u for u in container.inputs.get("uploads", [])}


def found_in_clear(deployment, value: str) -> list[str]:
    return [d.name for d in deployment.declared if any(value in s for s in plain_strings(d.raw))]


def test_every_generated_secret_is_a_random_password_of_the_documented_shape(default):
    passwords = {p.name: p.inputs for p in default.of_type("random:index/randomPassword:RandomPassword")}
    assert set(passwords) == {"glitchtip-secret-key", "glitchtip-postgres-password", "glitchtip-valkey-password",
                              "glitchtip-admin-password", "glitchtip-auth-token"}
    assert passwords["glitchtip-secret-key"]["length"] == 64 and passwords["glitchtip-auth-token"]["length"] == 64
    assert passwords["glitchtip-postgres-password"]["length"] == 32
    assert passwords["glitchtip-valkey-password"]["length"] == 32
    for name in ("glitchtip-secret-key", "glitchtip-postgres-password", "glitchtip-valkey-password"):
        assert passwords[name]["overrideSpecial"] == "abcdef" and passwords[name]["upper"] is False, name


@pytest.mark.parametrize("value", [HEX64, HEX32, ADMIN])
def test_no_generated_secret_is_ever_declared_in_clear(default, value):
    assert found_in_clear(default, value) == []


def test_glitchtip_reads_its_secret_key_database_and_valkey_urls_from_secret_files(default):
    web = default.containers()["glitchtip-web"]
    env, files = env_of(web), uploads(web)
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env and "VALKEY_URL" not in env
    for variable in ("SECRET_KEY_FILE", "DATABASE_URL_FILE", "VALKEY_URL_FILE"):
        upload = files[env[variable]]
        assert upload["permissions"] == "0440" and upload["owner"] == "5000", variable
    assert web.secret("uploads")
    assert re.fullmatch(r"[0-9a-f]{64}", files[env["SECRET_KEY_FILE"]]["content"])
    assert files[env["DATABASE_URL_FILE"]]["content"] == f"postgres://glitchtip:{HEX32}@postgres:5432/glitchtip"
    assert files[env["VALKEY_URL_FILE"]]["content"] == f"redis://:{HEX32}@valkey:6379/0"


def test_postgres_has_a_generated_password_from_a_file_and_no_trust_auth(default):
    postgres = default.containers()["glitchtip-postgres"]
    env = env_of(postgres)
    assert "POSTGRES_PASSWORD" not in env and "POSTGRES_HOST_AUTH_METHOD" not in env
    assert uploads(postgres)[env["POSTGRES_PASSWORD_FILE"]]["content"] == HEX32


def test_postgres_max_connections_cover_every_pool_and_are_computed_from_the_configuration(default):
    def connections(deployment):
        command = deployment.containers()["glitchtip-postgres"].inputs["command"]
        return int(next(c for c in command if c.startswith("max_connections=")).split("=")[1])

    assert connections(default) == 40  # (web 2 + worker 2 + 2 task pools) x 5 + 3 single + 3 reserved
    bigger = deploy({"glitchtip": {"webWorkers": 2, "resources": {"postgres": {"memoryMb": 256}}}})
    assert connections(bigger) == 50


def test_valkey_requires_a_password_from_its_config_file_and_the_health_check_authenticates(default):
    valkey = default.containers()["glitchtip-valkey"]
    assert valkey.inputs["command"] == ["valkey-server", "/etc/valkey/valkey.conf"]
    config = uploads(valkey)["/etc/valkey/valkey.conf"]["content"].splitlines()
    assert f"requirepass {HEX32}" in config and "appendonly yes" in config
    assert "maxmemory 16mb" in config  # half its 32 MB limit: room for the AOF rewrite fork
    assert "maxmemory-policy volatile-lru" in config
    assert env_of(valkey)["VALKEYCLI_AUTH"] == HEX32 and valkey.secret("envs")


def test_bootstrap_gets_the_admin_password_and_api_token_as_secrets(default):
    bootstrap = default.containers()["glitchtip-bootstrap"]
    env = env_of(bootstrap)
    assert env["BOOTSTRAP_ADMIN_PASSWORD"] == ADMIN and env["BOOTSTRAP_API_TOKEN"] == HEX64
    assert env["BOOTSTRAP_ADMIN_EMAIL"] == "ops@example.com"
    assert env["BOOTSTRAP_ORGANIZATION"] == "Acme" and env["BOOTSTRAP_TEAM"] == "acme"
    assert bootstrap.secret("envs")


def test_a_configured_email_url_reaches_glitchtip_only_as_a_secret_variable():
    url = "smtp+tls://user:MailSecret1@smtp.example.com:587"
    deployment = deploy({"glitchtip": {"emailUrl": url}}, secret_keys=("glitchtip",))
    worker = deployment.containers()["glitchtip-worker"]
    assert env_of(worker)["EMAIL_URL"] == url and worker.secret("envs")
    assert found_in_clear(deployment, "MailSecret1") == []


def test_an_external_database_replaces_postgres_and_its_url_stays_secret():
    url = "postgres://gt:DbSecret9@db.internal:5432/glitchtip"
    deployment = deploy({"databaseUrl": url}, secret_keys=("databaseUrl",))
    containers = deployment.containers()
    assert "glitchtip-postgres" not in containers and "glitchtip-backup" not in containers
    web = containers["glitchtip-web"]
    assert uploads(web)[env_of(web)["DATABASE_URL_FILE"]]["content"] == url
    assert found_in_clear(deployment, "DbSecret9") == []


def test_stack_outputs_with_credentials_are_secret_and_the_rest_readable(default):
    assert {"adminPassword", "authToken", "dsns"} <= default.secret_outputs
    assert not {"url", "adminEmail", "organization", "projects"} & default.secret_outputs
    assert default.outputs["url"] == "https://errors.example.com"
    assert default.outputs["authToken"] == HEX64


def test_dsns_come_from_the_bootstrap_report_one_per_project(default):
    dsns = default.outputs["dsns"]
    assert set(dsns) == {"api", "web"}
    for dsn in dsns.values():
        assert re.fullmatch(r"https://[0-9a-f]{32}@errors\.example\.com/\d+", dsn)
