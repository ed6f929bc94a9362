"""The Kafka topics step run as the container runs it (`python3 -c <script>`), against a stand-in
broker (tests/fake_kafka: confluent_kafka over a JSON state that persists between runs): topics
are created, and a later `pulumi up` that changes retention or partitions reaches existing topics.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from components.apps.sentry import install_commands as ic
from components.apps.sentry import services, topics
from components.apps.sentry.settings import Kafka, SentrySettings

FAKE = pathlib.Path(__file__).with_name("fake_kafka")
DAY_MS = str(24 * 3_600_000)
KAFKA_ENV = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9093,b2:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
             "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "sentry"}


class Broker:
    """The stand-in broker's state file, and a run of the step against it."""

    def __init__(self, path: pathlib.Path, topics_=None, fail=()):
        self.path = path
        path.write_text(json.dumps({"topics": topics_ or {}, "fail": list(fail), "calls": []}))

    @property
    def state(self) -> dict:
        return json.loads(self.path.read_text())

    def calls(self, name: str) -> list:
        return [c[1] for c in self.state["calls"] if c[0] == name]

    def run(self, step: ic.InstallStep):
        assert step.command[:2] == ("python3", "-c")
        self.path.write_text(json.dumps({**self.state, "calls": []}))
        env = {**step.env, "KAFKA_SASL_PASSWORD": "sasl-secret", "FAKE_KAFKA_STATE": str(self.path),
               "PYTHONPATH": str(FAKE), "PATH": os.environ.get("PATH", "")}
        done = subprocess.run([sys.executable, "-c", step.command[2]], env=env, capture_output=True, text=True,
                              timeout=60)
        return done.returncode, done.stdout + done.stderr


def step_for(settings: SentrySettings, kafka_env=KAFKA_ENV) -> ic.InstallStep:
    """The step as the app builds it from the settings (app._topics)."""
    return ic.create_kafka_topics([(t.name, t.partitions, t.config) for t in services.kafka_topics(settings)],
                                  kafka_env)


@pytest.fixture
def broker(tmp_path):
    return Broker(tmp_path / "broker.json")


def test_a_first_run_creates_every_topic_with_upstreams_retention_and_the_client_settings(broker):
    code, output = broker.run(step_for(SentrySettings()))
    assert code == 0, output
    created = broker.state["topics"]
    assert set(created) == set(topics.used_by(SentrySettings().deployed_services))
    assert created["ingest-events"] == {"partitions": 1, "config": topics.creation_config("ingest-events")}
    assert created["ingest-events"]["config"]["retention.ms"] == DAY_MS
    assert "retention.bytes" not in created["ingest-events"]["config"]
    (connect,) = broker.calls("connect")
    assert {"sasl.password", "security.protocol", "sasl.mechanism", "sasl.username"} <= set(connect)
    assert "sasl-secret" not in output and "0 topics existed" in output


def test_a_later_run_raises_partitions_and_retention_on_existing_topics_and_nothing_else(broker):
    assert broker.run(step_for(SentrySettings()))[0] == 0
    # More consumer replicas and a retention bound: the step's input changed, so it runs again.
    changed = SentrySettings(replicas={"events-consumer": 3}, kafka=Kafka(retention_hours=12))
    code, output = broker.run(step_for(changed))
    assert code == 0, output
    state = broker.state["topics"]
    assert state["ingest-events"]["partitions"] == 3
    assert broker.calls("create_partitions") == [[["ingest-events", 3]]]
    assert state["ingest-events"]["config"]["retention.ms"] == str(12 * 3_600_000)
    # Every topic with a longer retention was lowered to the bound, with one incremental SET each.
    (altered,) = broker.calls("incremental_alter_configs")
    assert {name for name, _ in altered} == set(state)
    assert all(changes == [["retention.ms", str(12 * 3_600_000), "SET"]] for _, changes in altered)
    assert broker.calls("create_topics") == []
    # Unchanged settings change nothing.
    code, output = broker.run(step_for(changed))
    assert code == 0 and broker.calls("incremental_alter_configs") == [] == broker.calls("create_partitions")


def test_dropping_an_operators_byte_bound_removes_it_from_the_topics(broker):
    bounded = SentrySettings(kafka=Kafka(retention_mb_per_partition=64))
    assert broker.run(step_for(bounded))[0] == 0
    assert broker.state["topics"]["events"]["config"]["retention.bytes"] == str(64 * topics.MB)
    code, output = broker.run(step_for(SentrySettings()))
    assert code == 0, output
    config = broker.state["topics"]["events"]["config"]
    assert "retention.bytes" not in config and "segment.bytes" not in config
    assert config["retention.ms"] == DAY_MS
    assert "back to the default: retention.bytes, segment.bytes" in output


def test_partitions_are_never_reduced_and_the_step_says_so(broker):
    broker = Broker(broker.path, {"ingest-events": {"partitions": 8, "config": topics.creation_config("ingest-events")}})
    code, output = broker.run(step_for(SentrySettings()))
    assert code == 0, output
    assert broker.state["topics"]["ingest-events"]["partitions"] == 8
    assert broker.calls("create_partitions") == []
    assert "ingest-events: keeps 8 partitions (wanted 1; Kafka cannot remove partitions)" in output


def test_a_topic_that_cannot_be_created_or_changed_fails_the_step_by_name(broker):
    broker = Broker(broker.path, fail=["ingest-events"])
    code, output = broker.run(step_for(SentrySettings()))
    assert code == 1 and "create ingest-events: Invalid config." in output


def test_only_the_topics_own_configs_count_not_the_brokers_defaults(broker):
    # The fake reports retention.bytes=-1, segment.bytes=1 GiB as DEFAULT_CONFIG for every topic:
    # deleting them would be noise; the script must leave them alone.
    assert broker.run(step_for(SentrySettings()))[0] == 0
    code, _ = broker.run(step_for(SentrySettings()))
    assert code == 0 and broker.calls("incremental_alter_configs") == []
