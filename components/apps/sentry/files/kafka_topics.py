"""Brings Kafka's topics to what the deployed services need; run with `python3 -c` in the Sentry
image (which ships confluent-kafka), never imported by the program.

KAFKA_TOPICS lists each topic with its partitions and creation config. A missing topic is created
with both. An existing one is brought to them: fewer partitions are raised (Kafka cannot lower a
count; more than wanted are kept and said), each config key that differs is set, and a key this
program manages (retention, segment size) that the topic holds but no longer wants is deleted back
to the broker's default. Anything that fails is named and the step exits 1.
"""

import json
import os
import sys

# Keys a topic keeps only while the program asks for them: dropping an operator's bound from
# `sentry.kafka` removes it from the topics too.
MANAGED_KEYS = ("retention.ms", "retention.bytes", "segment.bytes")
CLIENT_SETTINGS = (("KAFKA_SECURITY_PROTOCOL", "security.protocol"), ("KAFKA_SASL_MECHANISM", "sasl.mechanism"),
                   ("KAFKA_SASL_USERNAME", "sasl.username"), ("KAFKA_SASL_PASSWORD", "sasl.password"),
                   ("KAFKA_SSL_CA_LOCATION", "ssl.ca.location"),
                   ("KAFKA_SSL_CERTIFICATE_LOCATION", "ssl.certificate.location"),
                   ("KAFKA_SSL_KEY_LOCATION", "ssl.key.location"))


def config_changes(wanted, current):
    """(key, value) to set and keys to delete, given the wanted config and the topic's own
    (dynamic) config."""
    to_set = [(k, v) for k, v in sorted(wanted.items()) if current.get(k) != v]
    to_delete = [k for k in MANAGED_KEYS if k in current and k not in wanted]
    return to_set, to_delete


def _wait(futures, describe, failed):
    done = {}
    for key, future in futures.items():
        try:
            done[key] = future.result()
        except Exception as error:  # noqa: BLE001 - KafkaException carries the broker's reason
            failed.append(f"{describe(key)}: {error.args[0].str() if error.args and hasattr(error.args[0], 'str') else error}")
    return done


def main():
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                       NewPartitions, NewTopic, ResourceType)

    settings = {"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP_SERVERS"]}
    settings.update({key: os.environ[variable] for variable, key in CLIENT_SETTINGS if os.environ.get(variable)})
    admin = AdminClient(settings)
    wanted = json.loads(os.environ["KAFKA_TOPICS"])
    replication = int(os.environ.get("KAFKA_REPLICATION_FACTOR") or -1)
    existing = admin.list_topics(timeout=60).topics
    missing = [t for t in wanted if t["name"] not in existing]
    present = [t for t in wanted if t["name"] in existing]
    failed = []
    created = []
    if missing:
        futures = admin.create_topics([
            NewTopic(t["name"], num_partitions=t["partitions"], replication_factor=replication,
                     config={k: str(v) for k, v in t["config"].items()}) for t in missing])
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
                print(f"topic {name}: created")
            except Exception as error:  # noqa: BLE001
                kafka_error = error.args[0] if error.args else None
                if getattr(kafka_error, "code", lambda: None)() != KafkaError.TOPIC_ALREADY_EXISTS:
                    failed.append(f"create {name}: {kafka_error.str() if kafka_error is not None else error}")

    grow = []
    for t in present:
        count = len(existing[t["name"]].partitions)
        if count < t["partitions"]:
            grow.append(NewPartitions(t["name"], t["partitions"]))
        elif count > t["partitions"]:
            print(f"topic {t['name']}: keeps {count} partitions (wanted {t['partitions']}; Kafka cannot remove partitions)")
    if grow:
        done = _wait(admin.create_partitions(grow), lambda name: f"add partitions to {name}", failed)
        for name in done:
            print(f"topic {name}: partitions raised")

    resources = {t["name"]: ConfigResource(ResourceType.TOPIC, t["name"]) for t in present}
    described = _wait(admin.describe_configs(list(resources.values())) if resources else {},
                      lambda resource: f"read the configuration of {resource.name}", failed)
    alter = []
    for resource, entries in described.items():
        own = {name: entry.value for name, entry in entries.items() if entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG}
        target = next(t for t in present if t["name"] == resource.name)
        to_set, to_delete = config_changes({k: str(v) for k, v in target["config"].items()}, own)
        changes = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in to_set]
        changes += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in to_delete]
        if changes:
            alter.append(ConfigResource(ResourceType.TOPIC, resource.name, incremental_configs=changes))
            print(f"topic {resource.name}: set {', '.join(f'{k}={v}' for k, v in to_set) or 'nothing'}"
                  f"{'; back to the default: ' + ', '.join(to_delete) if to_delete else ''}")
    if alter:
        _wait(admin.incremental_alter_configs(alter), lambda resource: f"change the configuration of {resource.name}",
              failed)

    print(f"{len(present)} topics existed ({len(grow)} given more partitions, {len(alter)} reconfigured), "
          f"{len(created)} created, {len(failed)} failed")
    if failed:
        print("failed: " + "; ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
