"""Fake confluent_kafka.admin: an AdminClient over a JSON broker state (see ../README.md)."""

import enum
import json
import os
import types

from . import KafkaError, KafkaException


class ConfigSource(enum.Enum):
    UNKNOWN_CONFIG = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5


class AlterConfigOpType(enum.Enum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ResourceType(enum.Enum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    BROKER = 4


# What Kafka reports for a topic key nobody set (broker defaults).
DEFAULTS = {"retention.ms": "604800000", "retention.bytes": "-1", "segment.bytes": "1073741824",
            "cleanup.policy": "delete", "compression.type": "producer", "max.message.bytes": "1048588"}


class NewTopic:
    def __init__(self, topic, num_partitions=-1, replication_factor=-1, replica_assignment=None, config=None):
        if any(not isinstance(v, str) for v in (config or {}).values()):
            raise TypeError("config values must be strings")  # librdkafka takes strings only
        self.topic, self.num_partitions, self.replication_factor = topic, num_partitions, replication_factor
        self.replica_assignment, self.config = replica_assignment, dict(config or {})


class NewPartitions:
    def __init__(self, topic, new_total_count, replica_assignment=None):
        self.topic, self.new_total_count, self.replica_assignment = topic, new_total_count, replica_assignment


class ConfigEntry:
    def __init__(self, name, value, source=ConfigSource.UNKNOWN_CONFIG, is_read_only=False, is_default=False,
                 is_sensitive=False, is_synonym=False, synonyms=[], incremental_operation=None):
        self.name, self.value, self.source = name, value, source
        self.is_default, self.incremental_operation = is_default, incremental_operation


class ConfigResource:
    def __init__(self, restype, name, set_config=None, described_configs=None, error=None, incremental_configs=None):
        self.restype, self.name = restype, name
        self.incremental_configs = list(incremental_configs or [])

    def __hash__(self):
        return hash((self.restype, self.name))

    def __eq__(self, other):
        return (self.restype, self.name) == (other.restype, other.name)


class _Future:
    def __init__(self, value=None, error=None):
        self._value, self._error = value, error

    def result(self, timeout=None):
        if self._error is not None:
            raise KafkaException(self._error)
        return self._value


class AdminClient:
    def __init__(self, conf):
        self._path = os.environ["FAKE_KAFKA_STATE"]
        self._call("connect", sorted(conf))

    def _load(self):
        with open(self._path, encoding="utf-8") as handle:
            return json.load(handle)

    def _save(self, state):
        with open(self._path, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)

    def _call(self, *call):
        state = self._load()
        state.setdefault("calls", []).append(list(call))
        self._save(state)
        return state

    def list_topics(self, topic=None, timeout=-1):
        state = self._call("list_topics")
        return types.SimpleNamespace(topics={
            name: types.SimpleNamespace(partitions=dict.fromkeys(range(t["partitions"])))
            for name, t in state["topics"].items()})

    def create_topics(self, new_topics, **kwargs):
        state = self._call("create_topics", [[t.topic, t.num_partitions, t.config] for t in new_topics])
        futures = {}
        for t in new_topics:
            if t.topic in state["topics"]:
                futures[t.topic] = _Future(error=KafkaError(KafkaError.TOPIC_ALREADY_EXISTS, "Topic already exists."))
            elif t.topic in state.get("fail", []):
                futures[t.topic] = _Future(error=KafkaError(KafkaError.INVALID_CONFIG, "Invalid config."))
            else:
                state["topics"][t.topic] = {"partitions": t.num_partitions, "config": t.config}
                futures[t.topic] = _Future()
        self._save(state)
        return futures

    def create_partitions(self, new_partitions, **kwargs):
        state = self._call("create_partitions", [[p.topic, p.new_total_count] for p in new_partitions])
        futures = {}
        for p in new_partitions:
            topic = state["topics"].get(p.topic)
            if topic is None:
                futures[p.topic] = _Future(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "Unknown topic."))
            elif p.new_total_count <= topic["partitions"]:
                futures[p.topic] = _Future(error=KafkaError(
                    KafkaError.INVALID_PARTITIONS, f"Topic currently has {topic['partitions']} partitions, which is "
                                                   f"higher than the requested {p.new_total_count}."))
            else:
                topic["partitions"] = p.new_total_count
                futures[p.topic] = _Future()
        self._save(state)
        return futures

    def describe_configs(self, resources, **kwargs):
        state = self._call("describe_configs", [r.name for r in resources])
        futures = {}
        for r in resources:
            own = state["topics"][r.name]["config"]
            entries = {k: ConfigEntry(k, v, source=ConfigSource.DEFAULT_CONFIG, is_default=True)
                       for k, v in DEFAULTS.items()}
            entries.update({k: ConfigEntry(k, v, source=ConfigSource.DYNAMIC_TOPIC_CONFIG) for k, v in own.items()})
            futures[r] = _Future(entries)
        return futures

    def incremental_alter_configs(self, resources, **kwargs):
        state = self._call("incremental_alter_configs", [
            [r.name, [[e.name, e.value, e.incremental_operation.name] for e in r.incremental_configs]]
            for r in resources])
        futures = {}
        for r in resources:
            if r.restype != ResourceType.TOPIC or not r.incremental_configs:
                raise ValueError("incremental_alter_configs needs topic resources with incremental_configs")
            config = state["topics"][r.name]["config"]
            for entry in r.incremental_configs:
                if entry.incremental_operation == AlterConfigOpType.SET:
                    config[entry.name] = entry.value
                elif entry.incremental_operation == AlterConfigOpType.DELETE:
                    config.pop(entry.name, None)
                else:
                    raise ValueError(f"unexpected operation {entry.incremental_operation}")
            futures[r] = _Future()
        self._save(state)
        return futures
