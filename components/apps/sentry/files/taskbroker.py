"""taskbroker's config.yml (upstream taskbroker/config.yml at 26.8.0), as data.

Topics are configured in the file because env-var keys cannot hold hyphenated topic names; the
Kafka address (and, for an external Kafka, its SASL/TLS settings and password) comes from the
TASKBROKER_KAFKA_CLUSTERS__DEFAULT__* environment, as upstream does.
"""

from __future__ import annotations

import yaml

# Raw topics whose messages the broker turns into tasks: topic -> (consumer group, namespace,
# task, processing deadline in seconds).
RAW_TOPICS = {
    "events-subscription-results": (
        "query-subscription-consumer", "snuba.subscriptions.events.raw",
        "sentry.snuba.query_subscriptions.run.process_events_subscription_from_kafka", 60),
    "transactions-subscription-results": (
        "query-subscription-consumer", "snuba.subscriptions.transactions.raw",
        "sentry.snuba.query_subscriptions.run.process_transactions_subscription_from_kafka", 60),
    "metrics-subscription-results": (
        "query-subscription-consumer", "snuba.subscriptions.metrics.raw",
        "sentry.snuba.query_subscriptions.run.process_metrics_subscription_from_kafka", 60),
    "generic-metrics-subscription-results": (
        "query-subscription-consumer", "snuba.subscriptions.generic_metrics.raw",
        "sentry.snuba.query_subscriptions.run.process_generic_metrics_subscription_from_kafka", 60),
    "subscription-results-eap-items": (
        "subscription-results-eap-items", "snuba.subscriptions.eap.raw",
        "sentry.snuba.query_subscriptions.run.process_eap_subscription_from_kafka", 60),
    "profiles": (
        "ingest-profiles-consumers-0", "ingest.profiling.passthrough",
        "sentry.profiles.task.process_profile_from_kafka", 60),
    "ingest-replay-recordings": (
        "ingest-replay-recordings", "replays.raw",
        "sentry.replays.tasks.process_replay_recording", 90),
}


def taskbroker_config(ctx=None) -> dict:
    topics: dict = {
        "taskworker": {"cluster": "default", "consumer_group": "taskworker"},
        "taskworker-dlq": {"cluster": "default", "consumer_group": "taskworker", "produce_only": True},
    }
    for topic, (group, namespace, task, deadline) in RAW_TOPICS.items():
        topics[topic] = {
            "cluster": "default",
            "consumer_group": group,
            "raw": {
                "namespace": namespace,
                "application": "sentry",
                "taskname": task,
                "processing_deadline_duration": deadline,
            },
        }
    return {
        # One broker: fast consumer fail-over buys nothing, a starved Kafka at start-up costs.
        "kafka_session_timeout_ms": 60000,
        "kafka_deadletter_topic": "taskworker-dlq",
        "kafka_retry_topic": "taskworker",
        "kafka_topics": topics,
    }


def render_taskbroker_config(ctx=None) -> str:
    return "# Rendered by error-tracking.\n" + yaml.safe_dump(taskbroker_config(ctx), sort_keys=False)
