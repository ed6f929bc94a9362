"""Sentry's install one-shots: upstream's order and commands, no secret on a command line, and the
two scripts we add (buckets, Kafka topics) run for real against stand-ins (the topics script in
tests/test_sentry_topics_script.py)."""

import json
import subprocess
import sys

import pytest

from components.apps.sentry import install_commands as ic

STEP_ARGS = dict(admin_email="ops@example.com", organization="Acme", team="Backend",
                 projects=[{"name": "api", "platform": "python"}], url="https://sentry.example.com",
                 retention_days=90)


def test_steps_run_in_upstreams_order_with_upstreams_commands():
    steps = ic.install_steps(**STEP_ARGS, buckets=("nodestore", "profiles"),
                             external_topics=([("events", 1, {})], {"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}))
    assert [s.name for s in steps] == [
        "create-buckets", "create-kafka-topics", "snuba-bootstrap", "sentry-upgrade", "create-admin", "bootstrap",
    ]
    by_name = {s.name: s for s in steps}
    assert by_name["snuba-bootstrap"].image == ic.SNUBA and by_name["snuba-bootstrap"].command == ("bootstrap", "--force")
    assert by_name["sentry-upgrade"].command == ("upgrade", "--noinput", "--create-kafka-topics")
    assert by_name["bootstrap"].command[:2] == ("exec", "-c") and by_name["bootstrap"].reports


def test_bundled_kafka_and_postgres_node_store_need_neither_topics_nor_buckets():
    steps = ic.install_steps(**STEP_ARGS)
    assert [s.name for s in steps] == ["snuba-bootstrap", "sentry-upgrade", "create-admin", "bootstrap"]


def test_no_password_secret_or_operator_value_ever_appears_on_a_command_line():
    steps = ic.install_steps(**STEP_ARGS, buckets=("nodestore",))
    admin = next(s for s in steps if s.name == "create-admin")
    assert admin.entrypoint == ("/bin/sh", "-c") and admin.command == (ic.CREATE_ADMIN_SCRIPT,)
    assert admin.env == {"BOOTSTRAP_ADMIN_EMAIL": "ops@example.com"}
    for step in steps:
        assert not any("--password" == part for part in step.command)
        assert not any(secret in step.env for secret in step.secret_env)
        assert not any(value in part for value in ("ops@example.com", "Acme", "sentry.example.com")
                       for part in step.command), step.name
    bootstrap = next(s for s in steps if s.name == "bootstrap")
    assert set(bootstrap.secret_env) == {ic.ADMIN_PASSWORD, ic.CI_TOKEN_SECRET}
    assert json.loads(bootstrap.env["BOOTSTRAP_PROJECTS"]) == [{"name": "api", "platform": "python"}]
    assert bootstrap.sealed == () and admin.sealed == ()


def test_each_variable_from_a_setting_set_as_a_secret_is_sealed():
    for setting, variables in (("adminEmail", {"BOOTSTRAP_ADMIN_EMAIL"}), ("projects", {"BOOTSTRAP_PROJECTS"}),
                               ("organization", {"BOOTSTRAP_ORGANIZATION", "BOOTSTRAP_TEAM"}),
                               ("url", {"BOOTSTRAP_URL"})):
        steps = {s.name: s for s in ic.install_steps(**STEP_ARGS, secret_settings={setting})}
        assert set(steps["bootstrap"].sealed) == variables, setting
        assert set(steps["create-admin"].sealed) == ({"BOOTSTRAP_ADMIN_EMAIL"} if setting == "adminEmail" else set())


# A model of `sentry createuser` (getsentry/sentry src/sentry/runner/commands/createuser.py, the
# click command of the 24.x-26.x line): the same options, the same prompts in the same order.
FAKE_SENTRY = """#!{python}
import json, os, sys
import click

@click.group()
def cli():
    pass

@cli.command()
@click.option("--email", "emails", multiple=True, default=None)
@click.option("--org-id", default=None)
@click.option("--password")
@click.option("--superuser/--no-superuser", default=None, is_flag=True)
@click.option("--staff/--no-staff", default=None, is_flag=True)
@click.option("--no-password", default=False, is_flag=True)
@click.option("--no-input", default=False, is_flag=True)
@click.option("--force-update", default=False, is_flag=True)
def createuser(emails, org_id, password, superuser, staff, no_password, no_input, force_update):
    if not no_input:
        if not emails:
            emails = [click.prompt("Email")]
        if not (password or no_password):
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if superuser is None:
            superuser = click.confirm("Should this user be a superuser?", default=False)
    if not emails:
        raise click.ClickException("Invalid or missing email address.")
    if not no_password and not password:
        raise click.ClickException("No password set and --no-password not passed.")
    with open(os.environ["CREATED"], "w") as log:
        json.dump({{"emails": list(emails), "superuser": superuser, "password": password, "argv": sys.argv}}, log)

cli()
"""


def test_create_admin_hands_the_address_to_createusers_prompt_on_stdin(tmp_path):
    (tmp_path / "sentry").write_text(FAKE_SENTRY.format(python=sys.executable))
    (tmp_path / "sentry").chmod(0o755)
    admin = ic.create_admin("ops+errors@example.com", sealed=True)
    created = tmp_path / "created.json"
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin", "CREATED": str(created), **admin.env}
    result = subprocess.run([*admin.entrypoint, *admin.command], env=environment, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    record = json.loads(created.read_text())
    assert record["emails"] == ["ops+errors@example.com"] and record["superuser"] is True
    assert record["password"] is None
    assert not any("example.com" in arg for arg in record["argv"])
    assert admin.sealed == ("BOOTSTRAP_ADMIN_EMAIL",)


FAKE_AWS = """#!/bin/sh
echo "$*" >> "$AWS_LOG"
case "$*" in
  *head-bucket*nodestore*) exit 0 ;;
  *head-bucket*) exit 254 ;;
esac
"""


def test_bucket_step_creates_missing_buckets_only_and_sets_their_expiry(tmp_path):
    (tmp_path / "aws").write_text(FAKE_AWS)
    (tmp_path / "aws").chmod(0o755)
    step = ic.create_buckets(("nodestore", "profiles"), retention_days=30)
    assert step.image == ic.BUCKET_CLIENT_IMAGE and step.entrypoint == ("/bin/sh", "-c")
    log = tmp_path / "calls"
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin", "AWS_LOG": str(log), **step.env}
    subprocess.run(["/bin/sh", "-c", step.command[0]], env=environment, check=True, capture_output=True)
    calls = log.read_text().splitlines()
    assert [c.split(" s3api ")[1].split()[0] for c in calls] == [
        "head-bucket", "put-bucket-lifecycle-configuration",
        "head-bucket", "create-bucket", "put-bucket-lifecycle-configuration",
    ]
    assert all(c.startswith("--endpoint-url http://seaweedfs:8333 ") for c in calls)
    rules = json.loads(calls[1].split("--lifecycle-configuration ", 1)[1])["Rules"]
    assert rules[0]["Expiration"] == {"Days": 30} and rules[0]["Status"] == "Enabled"
    assert set(step.secret_env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


TOPICS = [("events", 1, {"message.timestamp.type": "LogAppendTime"}), ("ingest-events", 4, {}),
          ("monitors-clock-tick", 1, {})]
KAFKA_ENV = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9093,b2:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
             "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "sentry"}


def test_topic_list_mistakes_are_refused_before_deploying():
    with pytest.raises(ValueError, match="twice"):
        ic.create_kafka_topics([("a", 1, {}), ("a", 1, {})], KAFKA_ENV)
    with pytest.raises(ValueError, match="partition"):
        ic.create_kafka_topics([("a", 0, {})], KAFKA_ENV)
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP_SERVERS"):
        ic.create_kafka_topics([("a", 1, {})], {"KAFKA_SECURITY_PROTOCOL": "SSL"})
