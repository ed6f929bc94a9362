"""Names of the environment variables the rendered files read their secrets from.

The catalog puts each into the `secret_env` of the containers listed beside it; nothing else
needs to know them. Upstream's names are kept where upstream has one.
"""

# Sentry image (web, consumers, taskworker, cron, install tasks): read by sentry.conf.py.
SECRET_KEY = "SENTRY_SYSTEM_SECRET_KEY"  # upstream's name
POSTGRES_PASSWORD = "SENTRY_POSTGRES_PASSWORD"
REDIS_PASSWORD = "SENTRY_REDIS_PASSWORD"
MAIL_PASSWORD = "SENTRY_MAIL_PASSWORD"  # only when FilesContext.mail.has_password
KAFKA_SASL_PASSWORD = "KAFKA_SASL_PASSWORD"  # upstream external-kafka name; only with SASL
# Node store on S3 and profiles (feature-complete): the names SeaweedFS itself reads its admin
# keys from (upstream), so one pair of generated values serves the store and its clients.
S3_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
S3_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"

# Relay: credentials (Relay's own override variables) and the Redis URL with its password,
# referenced from config.yml as ${RELAY_REDIS_URL}; KAFKA_SASL_PASSWORD too when SASL is on.
RELAY_ID = "RELAY_ID"
RELAY_PUBLIC_KEY = "RELAY_PUBLIC_KEY"
RELAY_SECRET_KEY = "RELAY_SECRET_KEY"
RELAY_REDIS_URL = "RELAY_REDIS_URL"

# ClickHouse server: the `default` user's password (users.d from_env). Deliberately not
# CLICKHOUSE_PASSWORD: the image's entrypoint would then rewrite the default user itself.
CLICKHOUSE_DEFAULT_PASSWORD = "CLICKHOUSE_DEFAULT_PASSWORD"

# Always needed by every Sentry-image container; the optional ones above only when configured.
SENTRY_IMAGE_SECRETS = (SECRET_KEY, POSTGRES_PASSWORD, REDIS_PASSWORD)
# RELAY_ID and RELAY_PUBLIC_KEY are not secret (Sentry's config names them); these two are.
RELAY_SECRETS = (RELAY_SECRET_KEY, RELAY_REDIS_URL)
