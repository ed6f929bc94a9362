"""Fake confluent_kafka: the errors the topics script reads (see ../README.md)."""


class KafkaError:
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_CONFIG = 40
    UNKNOWN_TOPIC_OR_PART = 3

    def __init__(self, error, reason=None, fatal=False, retriable=False, txn_requires_abort=False):
        self._code, self._reason = error, reason or f"error {error}"

    def code(self):
        return self._code

    def str(self):
        return self._reason


class KafkaException(Exception):
    pass
