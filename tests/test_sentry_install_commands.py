"""Sentry's install one-shots: upstream's order and commands, no secret on a command line, and the
two scripts we add (buckets, Kafka topics) run for real against stand-ins (the topics script in
tests/test_sentry_topics_script.py)."""

import json
import subprocess

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


def test_no_password_or_secret_ever_appears_on_a_command_line():
    steps = ic.install_steps(**STEP_ARGS, buckets=("nodestore",))
    admin = next(s for s in steps if s.name == "create-admin")
    assert admin.command == ("createuser", "--email", "ops@example.com", "--no-password", "--superuser", "--no-input")
    for step in steps:
        assert not any("--password" == part for part in step.command)
        assert not any(secret in step.env for secret in step.secret_env)
    bootstrap = next(s for s in steps if s.name == "bootstrap")
    assert set(bootstrap.secret_env) == {ic.ADMIN_PASSWORD, ic.CI_TOKEN_SECRET}
    assert json.loads(bootstrap.env["BOOTSTRAP_PROJECTS"]) == [{"name": "api", "platform": "python"}]


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
