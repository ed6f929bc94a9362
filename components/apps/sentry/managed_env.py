"""The environment variables this program sets for Sentry's services (environment.py), so that
the operator's `sentry.env` may not override them: upstream's names, and files/env.py's for the
secrets the rendered configuration files read.
"""

from __future__ import annotations

from components.apps.sentry.files import env as file_env

MANAGED_ENV = frozenset({
    "PYTHONUSERBASE", "SENTRY_CONF", "SNUBA", "VROOM", "DEFAULT_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH_ENV_VAR", "COMPOSE_PROFILES", "SENTRY_EVENT_RETENTION_DAYS",
    "SENTRY_KAFKA_MAX_POLL_INTERVAL_MS", "SENTRY_MAIL_HOST", "SENTRY_STATSD_ADDR", "LAUNCHPAD_RPC_SHARED_SECRET",
    file_env.SECRET_KEY, file_env.POSTGRES_PASSWORD, file_env.REDIS_PASSWORD, file_env.MAIL_PASSWORD,
    file_env.S3_ACCESS_KEY_ID, file_env.S3_SECRET_ACCESS_KEY, file_env.KAFKA_SASL_PASSWORD,
    # Read by upstream's external-Kafka patch; here sentry.conf.py carries them, so they are reserved.
    "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
})
