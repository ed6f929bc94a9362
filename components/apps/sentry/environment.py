"""Each Sentry service's environment: plain variables and the secret ones, by shape and service.

The names are contracts: upstream's where upstream has one (docker-compose.yml at 26.8.0 and its
optional-modifications/patches/external-kafka), and files/env.py's for the secrets the rendered
configuration files read. A secret value only ever goes into the second mapping (`secret_env`).
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional
from urllib.parse import urlsplit

import pulumi

from components.apps.sentry import catalog, sizing
from components.apps.sentry.catalog import SENTRY, SNUBA
from components.apps.sentry.credentials import Context
from components.apps.sentry.files import env as file_env
from components.apps.sentry.files.kafka import kafka_environment
from components.apps.sentry.files.relay import redis_url
from components.apps.sentry.settings import SentrySettings

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HEALTH_FILE = "/tmp/health.txt"
STATSD_LOCAL = "127.0.0.1:8125"  # upstream's ${STATSD_ADDR:-127.0.0.1:8125}: nothing listens, nothing sent

Env = tuple[dict[str, str], dict[str, pulumi.Input[str]]]


def environment(name: str, settings: SentrySettings, context: Context) -> Env:
    """(env, secret_env) for one service. When the `sentry` section holds a secret, every value
    goes to the secret side: hosts, users, addresses and extra variables all come from it, and a
    rule per variable would miss the next setting added."""
    shape = catalog.CATALOG[name].shape
    env, secret = {SENTRY: _sentry_env, SNUBA: _snuba_env}.get(shape, _OWN_ENV.get(name, _no_env))(settings, context)
    if settings.secret:
        return {}, {**{k: pulumi.Output.secret(v) for k, v in env.items()}, **secret}
    return env, secret


def _mail_domain(context: Context, name: str) -> Env:
    """The public URL's host under `name`: secret when the URL was set as one."""
    if not context.mail_domain:
        return {}, {}
    if context.mail_domain_secret:
        return {}, {name: pulumi.Output.secret(context.mail_domain)}
    return {name: context.mail_domain}, {}


def _bootstrap(settings: SentrySettings) -> str:
    kafka = settings.external.kafka
    return ",".join(kafka.bootstrap_servers) if kafka else "kafka:9092"


def _kafka_auth(settings: SentrySettings, context: Context, names: Mapping[str, str]) -> Env:
    """External Kafka's security settings under a client's variable names (upstream's
    optional-modifications/patches/external-kafka), or nothing for the bundled broker."""
    kafka = settings.external.kafka
    env: dict[str, str] = {}
    secret: dict[str, pulumi.Input[str]] = {}
    if kafka:
        env[names["protocol"]] = kafka.security_protocol
        if kafka.sasl_mechanism:
            env[names["mechanism"]] = kafka.sasl_mechanism
            env[names["username"]] = kafka.sasl_username or ""
            secret[names["password"]] = context.secrets.kafka_sasl_password
    return env, secret


_PLAIN_KAFKA_NAMES = {"protocol": "KAFKA_SECURITY_PROTOCOL", "mechanism": "KAFKA_SASL_MECHANISM",
                      "username": "KAFKA_SASL_USERNAME", "password": "KAFKA_SASL_PASSWORD"}


def _sentry_env(settings: SentrySettings, context: Context) -> Env:
    secrets = context.secrets
    env = {
        "PYTHONUSERBASE": "/data/custom-packages", "SENTRY_CONF": "/etc/sentry", "SNUBA": "http://snuba-api:1218",
        "VROOM": "http://vroom:8085", "DEFAULT_CA_BUNDLE": CA_BUNDLE, "REQUESTS_CA_BUNDLE": CA_BUNDLE,
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH_ENV_VAR": CA_BUNDLE, "COMPOSE_PROFILES": settings.profile,
        "SENTRY_EVENT_RETENTION_DAYS": str(settings.event_retention_days),
        "SENTRY_KAFKA_MAX_POLL_INTERVAL_MS": str(settings.kafka.max_poll_interval_ms),
        "SENTRY_STATSD_ADDR": "",
    }
    mail_env, mail_secret = _mail_domain(context, "SENTRY_MAIL_HOST")
    env.update(mail_env)
    # The names sentry.conf.py reads (files/env.py); Kafka's address and SASL user are in the file.
    secret: dict[str, pulumi.Input[str]] = {
        **mail_secret,
        file_env.SECRET_KEY: secrets.system_secret_key,
        "LAUNCHPAD_RPC_SHARED_SECRET": secrets.launchpad_rpc_shared_secret,
        file_env.POSTGRES_PASSWORD: secrets.postgres_password,
    }
    if secrets.redis_password is not None:
        secret[file_env.REDIS_PASSWORD] = secrets.redis_password
    if settings.uses_object_store:
        secret[file_env.S3_ACCESS_KEY_ID] = secrets.object_store_access_key
        secret[file_env.S3_SECRET_ACCESS_KEY] = secrets.object_store_secret_key
    if settings.mail and settings.mail.password:
        secret[file_env.MAIL_PASSWORD] = secrets.mail_password
    if settings.external.kafka and settings.external.kafka.sasl_mechanism:
        secret[file_env.KAFKA_SASL_PASSWORD] = secrets.kafka_sasl_password
    # The operator's extra variables (secret with the whole section, see environment()).
    return {**env, **settings.env}, secret


def _snuba_env(settings: SentrySettings, context: Context) -> Env:
    external = settings.external
    env = {
        "SNUBA_SETTINGS": "self_hosted", "CLICKHOUSE_HOST": "clickhouse", "DEFAULT_BROKERS": _bootstrap(settings),
        "REDIS_HOST": "redis", "UWSGI_MAX_REQUESTS": "10000", "UWSGI_DISABLE_LOGGING": "true",
        "SENTRY_KAFKA_MAX_POLL_INTERVAL_MS": str(settings.kafka.max_poll_interval_ms),
        "SENTRY_EVENT_RETENTION_DAYS": str(settings.event_retention_days), "SNUBA_STATSD_ADDR": "",
    }
    if external.clickhouse:
        ch = external.clickhouse
        env.update(CLICKHOUSE_HOST=ch.host, CLICKHOUSE_PORT=str(ch.tcp_port), CLICKHOUSE_HTTP_PORT=str(ch.http_port),
                   CLICKHOUSE_USER=ch.username, CLICKHOUSE_DATABASE=ch.database)
        if ch.secure:
            env["CLICKHOUSE_SECURE"] = "true"
    if external.redis:
        env.update(REDIS_HOST=external.redis.host, REDIS_PORT=str(external.redis.port))
        if external.redis.tls:
            env["REDIS_SSL"] = "1"  # snuba reads bool(env): any non-empty value turns TLS on
    secret: dict[str, pulumi.Input[str]] = {"CLICKHOUSE_PASSWORD": context.secrets.clickhouse_password}
    if context.secrets.redis_password is not None:
        secret["REDIS_PASSWORD"] = context.secrets.redis_password
    auth_env, auth_secret = _kafka_auth(settings, context, _PLAIN_KAFKA_NAMES)
    return {**env, **auth_env}, {**secret, **auth_secret}


def _no_env(settings: SentrySettings, context: Context) -> Env:
    return {}, {}


# devture/exim-relay's default RELAY_FROM_HOSTS (its Dockerfile), where pods and Docker networks live.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def _smtp(settings, context) -> Env:
    """devture/exim-relay's contract (its README): HOSTNAME is the HELO name (upstream's MAILNAME),
    secret when the url was set as one; it relays for RELAY_FROM_HOSTS, here also the networks the
    operator named internal (a pod CIDR outside the private ranges, 100.64.0.0/10, say). Only
    Sentry's own pods reach it (network policies, the app's network), so sender addresses are not
    verified: that would need DNS for the url's host from inside the cluster, which split-horizon
    setups do not have."""
    env, secret = _mail_domain(context, "HOSTNAME")
    if not env and not secret:
        env = {"HOSTNAME": ""}
    networks = tuple(dict.fromkeys((*PRIVATE_NETWORKS, *settings.internal_networks)))
    return {**env, "RELAY_FROM_HOSTS": "<; " + "; ".join(networks), "DISABLE_SENDER_VERIFICATION": "1"}, secret


def _redis(settings, context) -> Env:
    # The server's --requirepass and valkey-cli's health-check `ping` both read it from here.
    password = context.secrets.redis_password
    return {}, {"REDISCLI_AUTH": password, "VALKEYCLI_AUTH": password}


# Data one directory below the volume's root: a fresh block-storage volume (ext4) holds
# lost+found at its root, which initdb and Kafka refuse as a data directory.
POSTGRES_DATA = "/var/lib/postgresql/data/pgdata"
KAFKA_DATA = "/var/lib/kafka/data/logs"


def _postgres(settings, context) -> Env:
    return {"PGDATA": POSTGRES_DATA}, {"POSTGRES_PASSWORD": context.secrets.postgres_password}


def _pgbouncer(settings, context) -> Env:
    """Upstream: AUTH_TYPE=trust and no password. The image's entrypoint keeps the password in
    clear only for AUTH_TYPE=plain (else an md5 hash, with which pgbouncer cannot answer the
    SCRAM that Postgres 14 and managed databases ask for), so `plain`, on the private network."""
    pg = settings.external.postgres
    env = {"DB_USER": pg.username if pg else "postgres", "DB_HOST": pg.host if pg else "postgres",
           "DB_NAME": pg.database if pg else "postgres", "AUTH_TYPE": "plain", "POOL_MODE": "transaction",
           "ADMIN_USERS": "postgres,sentry", "MAX_CLIENT_CONN": "10000"}
    if pg:
        env["DB_PORT"] = str(pg.port)
        if pg.ssl_mode:
            env["SERVER_TLS_SSLMODE"] = pg.ssl_mode
    password = context.secrets.postgres_password
    return env, {"DB_PASSWORD": password, "PGPASSWORD": password}


def _kafka(settings, context) -> Env:
    """Upstream's single KRaft node, its heap and retention bounded (files/kafka.py)."""
    return {**kafka_environment(settings.resources_for("kafka").memory_mb, settings.kafka.retention_hours,
                                settings.kafka.retention_bytes), "KAFKA_LOG_DIRS": KAFKA_DATA}, {}


def _clickhouse(settings, context) -> Env:
    ratio = sizing.clickhouse_max_memory_ratio(settings.resources_for("clickhouse").memory_mb)
    # The users file reads the password from this variable (ClickHouse `from_env`); the ratio is
    # upstream's variable, the rendered config.xml states the same figure.
    return ({"MAX_MEMORY_USAGE_RATIO": str(ratio)},
            {file_env.CLICKHOUSE_DEFAULT_PASSWORD: context.secrets.clickhouse_password})


def _seaweedfs(settings, context) -> Env:
    return ({"HTTP_PROXY": "", "HTTPS_PROXY": "", "http_proxy": "", "https_proxy": ""},
            {"AWS_ACCESS_KEY_ID": context.secrets.object_store_access_key,
             "AWS_SECRET_ACCESS_KEY": context.secrets.object_store_secret_key})


def _taskbroker(settings, context) -> Env:
    prefix = "TASKBROKER_KAFKA_CLUSTERS__DEFAULT__"
    env = {f"{prefix}ADDRESS": _bootstrap(settings), "TASKBROKER_DB_PATH": "/opt/sqlite/taskbroker-activations.sqlite",
           "TASKBROKER_STATSD_ADDR": STATSD_LOCAL}
    names = {k: prefix + v for k, v in (("protocol", "SECURITY_PROTOCOL"), ("mechanism", "SASL_MECHANISM"),
                                        ("username", "SASL_USERNAME"), ("password", "SASL_PASSWORD"))}
    auth_env, auth_secret = _kafka_auth(settings, context, names)
    return {**env, **auth_env}, auth_secret


def _launchpad(settings, context) -> Env:
    return {"LAUNCHPAD_WORKER_RPC_HOST": "taskbroker:50051",
            "LAUNCHPAD_WORKER_CONCURRENCY": str(settings.launchpad_concurrency),
            "LAUNCHPAD_WORKER_HEALTH_CHECK_FILE_PATH": HEALTH_FILE, "KAFKA_BOOTSTRAP_SERVERS": _bootstrap(settings),
            "SENTRY_BASE_URL": "http://web:9000", "LAUNCHPAD_ENV": "self-hosted"}, {
            "LAUNCHPAD_RPC_SHARED_SECRET": context.secrets.launchpad_rpc_shared_secret}


def _vroom(settings, context) -> Env:
    s3 = settings.external.s3
    if s3:
        parts = urlsplit(s3.endpoint_url)
        bucket = (f"s3://{s3.profiles_bucket}?region={s3.region}&endpoint={parts.netloc}"
                  f"&s3ForcePathStyle={str(s3.addressing_style == 'path').lower()}"
                  f"&disableSSL={str(parts.scheme == 'http').lower()}")
    else:
        bucket = "s3://profiles?region=us-east-1&endpoint=seaweedfs:8333&s3ForcePathStyle=true&disableSSL=true"
    env = {"SENTRY_KAFKA_BROKERS_PROFILING": _bootstrap(settings),
           "SENTRY_KAFKA_BROKERS_OCCURRENCES": _bootstrap(settings),
           "SENTRY_BUCKET_PROFILES": bucket, "SENTRY_SNUBA_HOST": "http://snuba-api:1218"}
    names = {"protocol": "SENTRY_KAFKA_SECURITY_PROTOCOL", "mechanism": "SENTRY_KAFKA_SASL_MECHANISM",
             "username": "SENTRY_KAFKA_SASL_USERNAME", "password": "SENTRY_KAFKA_SASL_PASSWORD"}
    auth_env, auth_secret = _kafka_auth(settings, context, names)
    if settings.external.kafka:
        auth_env["SENTRY_KAFKA_BROKERS_SPANS"] = _bootstrap(settings)
    return {**env, **auth_env}, {"AWS_ACCESS_KEY": context.secrets.object_store_access_key,
                                 "AWS_SECRET_KEY": context.secrets.object_store_secret_key, **auth_secret}


def _redis_url(settings: SentrySettings, context: Context, with_db: bool) -> pulumi.Input[str]:
    """The Redis URL with the password (URL-quoted) in it: a secret as a whole."""
    redis = settings.external.redis
    host, port, db = (redis.host, redis.port, redis.db) if redis else ("redis", 6379, 0)
    scheme = "rediss" if redis and redis.tls else "redis"

    def url(password: Optional[str]) -> str:
        found = redis_url(host, port, password, db) if password is not None else f"redis://{host}:{port}/{db}"
        found = scheme + found[len("redis"):]
        return found if with_db else found.rpartition("/")[0]

    password = context.secrets.redis_password
    if password is None or isinstance(password, str):
        return url(password)
    return pulumi.Output.from_input(password).apply(url)


def _relay(settings, context) -> Env:
    secrets = context.secrets
    secret = {file_env.RELAY_ID: secrets.relay_id, file_env.RELAY_PUBLIC_KEY: secrets.relay_public_key,
              file_env.RELAY_SECRET_KEY: secrets.relay_secret_key,
              file_env.RELAY_REDIS_URL: _redis_url(settings, context, with_db=True)}
    if settings.external.kafka and settings.external.kafka.sasl_mechanism:
        secret[file_env.KAFKA_SASL_PASSWORD] = secrets.kafka_sasl_password
    return {"RELAY_STATSD_ADDR": STATSD_LOCAL}, {k: v for k, v in secret.items() if v is not None}


def _uptime_checker(settings, context) -> Env:
    url = _redis_url(settings, context, with_db=False)
    env = {"UPTIME_CHECKER_RESULTS_KAFKA_CLUSTER": _bootstrap(settings), "UPTIME_CHECKER_ALLOW_INTERNAL_IPS": "false",
           "UPTIME_CHECKER_FAILURE_RETRIES": "1", "UPTIME_CHECKER_STATSD_ADDR": STATSD_LOCAL}
    names = {"protocol": "UPTIME_CHECKER_KAFKA_SECURITY_PROTOCOL", "mechanism": "UPTIME_CHECKER_KAFKA_SASL_MECHANISM",
             "username": "UPTIME_CHECKER_KAFKA_SASL_USERNAME", "password": "UPTIME_CHECKER_KAFKA_SASL_PASSWORD"}
    auth_env, auth_secret = _kafka_auth(settings, context, names)
    # The URL carries the password, so the whole variable is a secret.
    return {**env, **auth_env}, {"UPTIME_CHECKER_REDIS_HOST": url, **auth_secret}


_OWN_ENV: Mapping[str, Callable[[SentrySettings, Context], Env]] = {
    "smtp": _smtp, "redis": _redis, "postgres": _postgres, "pgbouncer": _pgbouncer, "kafka": _kafka,
    "clickhouse": _clickhouse, "seaweedfs": _seaweedfs, "taskbroker": _taskbroker,
    "launchpad-taskworker": _launchpad, "vroom": _vroom, "uptime-checker": _uptime_checker,
    "symbolicator": lambda s, c: ({"SYMBOLICATOR_STATSD_ADDR": STATSD_LOCAL}, {}),
    "symbolicator-cleanup": lambda s, c: ({"SYMBOLICATOR_STATSD_ADDR": STATSD_LOCAL}, {}),
    "relay": _relay,
}
