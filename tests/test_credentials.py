"""Every setting that carries a credential is refused unless it is set as a secret: one list
(components.validation.CREDENTIALS), the same list in the README, the command to use in each message,
and the stack's file read so that a plaintext password beside another secret value is refused too."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import configuration, program
from components.validation import CREDENTIALS, ConfigError, credential_problems
from tests.harness import BASE_CONFIG

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Pw-never-echoed-7"

# Per credential: a configuration holding it (PASSWORD marks the credential itself), and the full
# key the message must name. A credential added to the list without a case here fails below.
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "databaseUrl": ({"databaseUrl": f"postgres://gt:{PASSWORD}@db.internal:5432/gt"}, "databaseUrl"),
    "valkeyUrl": ({"valkeyUrl": f"redis://:{PASSWORD}@cache.internal:6379/0"}, "valkeyUrl"),
    "glitchtip.emailUrl": ({"glitchtip": {"emailUrl": f"smtp+tls://mailer:{PASSWORD}@smtp.example.com:587"}},
                           "glitchtip.emailUrl"),
    "glitchtip.env.*": ({"glitchtip": {"env": {"AWS_SECRET_ACCESS_KEY": PASSWORD}}},
                        "glitchtip.env.AWS_SECRET_ACCESS_KEY"),
    "sentry.env.*": ({"app": "sentry", "sentry": {"env": {"GITHUB_API_TOKEN": PASSWORD}}},
                     "sentry.env.GITHUB_API_TOKEN"),
    "sentry.mail.password": ({"app": "sentry", "sentry": {"mail": {"host": "smtp.example.com", "username": "mailer",
                                                                   "password": PASSWORD}}}, "sentry.mail.password"),
    "sentry.external.postgres.password": (
        {"app": "sentry", "sentry": {"external": {"postgres": {"host": "db.internal", "password": PASSWORD}}}},
        "sentry.external.postgres.password"),
    "sentry.external.redis.password": (
        {"app": "sentry", "sentry": {"external": {"redis": {"host": "cache.internal", "password": PASSWORD}}}},
        "sentry.external.redis.password"),
    "sentry.external.kafka.sasl.password": (
        {"app": "sentry", "sentry": {"external": {"kafka": {
            "bootstrapServers": "kafka.internal:9093", "securityProtocol": "SASL_SSL",
            "sasl": {"mechanism": "SCRAM-SHA-512", "username": "sentry", "password": PASSWORD}}}}},
        "sentry.external.kafka.sasl.password"),
    "sentry.external.clickhouse.password": (
        {"app": "sentry", "sentry": {"external": {"clickhouse": {"host": "ch.internal", "password": PASSWORD}}}},
        "sentry.external.clickhouse.password"),
    "sentry.external.s3.secretAccessKey": (
        {"app": "sentry", "sentry": {"profile": "feature-complete", "external": {"s3": {
            "endpointUrl": "https://s3.example.com", "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": PASSWORD}}}},
        "sentry.external.s3.secretAccessKey"),
    "backup.offsite.secretAccessKey": (
        {"backup": {"offsite": {"endpoint": "https://s3.example.com", "bucket": "backups",
                                "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": PASSWORD}}},
        "backup.offsite.secretAccessKey"),
    "alerts.telegram.botToken": ({"alerts": {"telegram": {"botToken": f"123456789:{PASSWORD}AAAAAAAAAAAAAAAA",
                                                          "chatId": "-100200"}}}, "alerts.telegram.botToken"),
    "alerts.webhook.url": ({"alerts": {"webhook": {"url": f"https://hooks.example.com/{PASSWORD}"}}},
                           "alerts.webhook.url"),
    "kubernetes.kubeconfig": ({"platform": "kubernetes", "kubernetes": {
        "kubeconfig": f"apiVersion: v1\nkind: Config\nusers: [{{name: ops, user: {{token: {PASSWORD}}}}}]\n"}},
        "kubernetes.kubeconfig"),
}


def refused(config: dict[str, Any], secret_keys=frozenset(), plain_paths=None) -> str:
    with pytest.raises(ConfigError) as error:
        configuration.load({**BASE_CONFIG, **config}, frozenset(secret_keys), plain_paths)
    return "\n".join(error.value.problems)


def test_every_credential_in_the_list_has_a_case_here():
    assert sorted(CASES) == sorted(c.path for c in CREDENTIALS)


@pytest.mark.parametrize("path", sorted(CASES))
def test_a_credential_not_set_as_a_secret_is_refused_with_the_command_to_use(path):
    config, key = CASES[path]
    found = refused(config)
    assert (f"error-tracking:{key}: holds " in found and "is not set as a secret" in found
            and f"`pulumi config set --secret --path '{key}' <value>`" in found), found
    assert PASSWORD not in found
    # The same value set as a secret is accepted (its top-level key is what Pulumi reports).
    configuration.load({**BASE_CONFIG, **config}, frozenset({key.split(".")[0]}))


@pytest.mark.parametrize("path", sorted(CASES))
def test_a_credential_in_clear_beside_another_secret_value_is_refused(path):
    """Pulumi says only that the top-level key holds a secret; the stack's file says which value."""
    config, key = CASES[path]
    top = key.split(".")[0]
    found = refused(config, secret_keys={top}, plain_paths=frozenset({key, f"{top}.something.else"}))
    assert f"error-tracking:{key}: holds " in found and PASSWORD not in found
    configuration.load({**BASE_CONFIG, **config}, frozenset({top}), frozenset({f"{top}.something.else"}))


@pytest.mark.parametrize("config", [
    {"glitchtip": {"emailUrl": "smtp://smtp.example.com:25"}},
    {"glitchtip": {"env": {"GLITCHTIP_MAX_FILE_UPLOAD_SIZE": "1000000", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
                           "SOCIAL_AUTH_REDIRECT_URL": "https://errors.example.com/auth"}}},
    {"platform": "kubernetes", "kubernetes": {"kubeconfig": "/home/ops/.kube/prod"}},
    {"databaseUrl": "", "valkeyUrl": ""},
], ids=["email-url-without-password", "plain-env-variable", "kubeconfig-path", "store-urls-empty"])
def test_values_that_carry_no_credential_may_stay_plain(config):
    configuration.load({**BASE_CONFIG, **config})


def test_a_variable_holding_a_url_with_a_password_is_a_credential_whatever_its_name():
    found = refused({"glitchtip": {"env": {"CACHE_LOCATION": f"redis://:{PASSWORD}@cache:6379/1"}}})
    assert "error-tracking:glitchtip.env.CACHE_LOCATION: holds " in found and PASSWORD not in found


def readme_credentials() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Settings that hold credentials", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {path for row in rows for path in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_the_readme_names_exactly_the_settings_in_the_list():
    assert readme_credentials() == {c.path for c in CREDENTIALS}


def write(directory: Path, name: str, content: dict) -> None:
    (directory / name).write_text(yaml.safe_dump(content))


def test_the_stack_file_tells_which_values_are_in_clear(tmp_path):
    write(tmp_path, "Pulumi.yaml", {"name": "error-tracking", "runtime": "python"})
    write(tmp_path, "Pulumi.prod.yaml", {"config": {
        "error-tracking:url": "https://errors.example.com",
        "error-tracking:databaseUrl": {"secure": "v1:AAAA"},
        "error-tracking:sentry": {"mail": {"host": "smtp.example.com", "password": "in-clear"},
                                  "external": {"postgres": {"password": {"secure": "v1:BBBB"}}}},
        "error-tracking:projects": [{"name": "api"}],
        "aws:region": "eu-central-1",
    }})
    assert program.plain_paths("prod", tmp_path) == {
        "url", "sentry.mail.host", "sentry.mail.password", "projects[0].name"}
    assert program.plain_paths("other", tmp_path) is None


def test_the_stack_file_is_found_under_stack_config_dir(tmp_path):
    (tmp_path / "stacks").mkdir()
    write(tmp_path, "Pulumi.yaml", {"name": "error-tracking", "runtime": "python", "stackConfigDir": "stacks"})
    write(tmp_path / "stacks", "Pulumi.dev.yaml", {"config": {"error-tracking:alerts": {
        "telegram": {"botToken": "123:in-clear", "chatId": "1"}}}})
    paths = program.plain_paths("dev", tmp_path)
    assert "alerts.telegram.botToken" in paths
    problems = credential_problems({"alerts": {"telegram": {"botToken": "123:in-clear"}}},
                                   frozenset({"alerts"}), paths)
    assert problems and "error-tracking:alerts.telegram.botToken: holds" in problems[0]


@pytest.mark.parametrize("stack_file", sorted(ROOT.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_the_committed_stack_files_keep_no_credential_in_clear(stack_file):
    stack = stack_file.name.split(".")[1]
    config = configuration.project_config({k: v if isinstance(v, str) else json.dumps(v)
                                           for k, v in yaml.safe_load(stack_file.read_text())["config"].items()})
    paths = program.plain_paths(stack, ROOT)
    # Every top-level key counted as secret: only the file's own `secure:` entries decide here.
    assert credential_problems(config, frozenset(config), paths) == []


@pytest.mark.parametrize("example", sorted((ROOT / "examples" / "stacks").glob("*.yaml")), ids=lambda p: p.name)
def test_the_example_stack_files_hold_no_credential_in_clear(example, tmp_path):
    """Operators copy them to Pulumi.<stack>.yaml: a credential in one would be refused there."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(example, tmp_path / "Pulumi.copy.yaml")
    config = configuration.project_config({k: v if isinstance(v, str) else json.dumps(v)
                                           for k, v in yaml.safe_load(example.read_text())["config"].items()})
    assert credential_problems(config, frozenset(config), program.plain_paths("copy", tmp_path)) == []
