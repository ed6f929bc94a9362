"""Sentry's configuration files, rendered from one typed context; no secret is ever written into them.

Every program that can read a secret from its environment does so: sentry.conf.py is Python and
reads `os.environ`, ClickHouse substitutes `from_env`, Relay resolves `${VAR}` references and
takes its credentials from RELAY_ID/RELAY_PUBLIC_KEY/RELAY_SECRET_KEY. So every file here is
plain (`ConfigFile(secret=False)`) and the secrets travel as the containers' secret environment,
under the names in `env` (the catalog wires them). Each renderer is a pure function of the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional
from urllib.parse import urlsplit

from components.apps.sentry.images import SMTP_PORT
from components.spec import ConfigFile

from . import env

Profile = Literal["errors-only", "feature-complete"]
PROFILES = ("errors-only", "feature-complete")

# Where each file is mounted, by the file's name (the catalog mounts them by these names).
FILE_PATHS: dict[str, str] = {
    "sentry-conf-py": "/etc/sentry/sentry.conf.py",
    "sentry-config-yml": "/etc/sentry/config.yml",
    "relay-config-yml": "/work/.relay/config.yml",
    "symbolicator-config-yml": "/etc/symbolicator/config.yml",
    "clickhouse-config-xml": "/etc/clickhouse-server/config.d/sentry.xml",
    "clickhouse-users-xml": "/etc/clickhouse-server/users.d/default-password.xml",
    "nginx-conf": "/etc/nginx/nginx.conf",
    # The same file for Docker, where nginx asks the engine's DNS again for replaced containers.
    "nginx-conf-docker": "/etc/nginx/nginx.conf",
    "taskbroker-config-yml": "/etc/taskbroker/config.yml",
    "snuba-api-healthcheck-py": "/usr/src/snuba/api_healthcheck.py",
}

# Private and carrier-grade NAT ranges: Docker's default address pools and the pod/ingress
# networks of common Kubernetes distributions all fall inside them.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


@dataclass(frozen=True)
class Hosts:
    """The upstream service names the containers reach each other by."""

    web: str = "web"
    relay: str = "relay"
    symbolicator: str = "symbolicator"
    memcached: str = "memcached"
    snuba: str = "snuba-api"
    taskbroker: str = "taskbroker"


@dataclass(frozen=True)
class Mail:
    """Outgoing mail; the password, if any, is read from env.MAIL_PASSWORD."""

    host: str = "smtp"  # the bundled exim relay
    port: int = SMTP_PORT  # its unprivileged port
    username: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    from_address: str = "sentry@localhost"
    has_password: bool = False


@dataclass(frozen=True)
class Postgres:
    """Where Sentry's database is; the password is read from env.POSTGRES_PASSWORD."""

    host: str = "pgbouncer"
    port: int = 5432
    name: str = "postgres"
    user: str = "postgres"
    sslmode: Optional[str] = None  # e.g. "require" for a managed database


@dataclass(frozen=True)
class Redis:
    """Redis/Valkey; the password is read from env.REDIS_PASSWORD (Relay: env.RELAY_REDIS_URL)."""

    host: str = "redis"
    port: int = 6379
    db: int = 0


@dataclass(frozen=True)
class Kafka:
    """Kafka clients' settings; the SASL password is read from env.KAFKA_SASL_PASSWORD."""

    bootstrap_servers: str = "kafka:9092"
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: Optional[str] = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    sasl_username: Optional[str] = None
    ssl_ca_location: Optional[str] = None
    ssl_certificate_location: Optional[str] = None
    ssl_key_location: Optional[str] = None

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def client_settings(self) -> dict[str, str]:
        """librdkafka settings except the password (which each consumer reads from its env)."""
        settings = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol != "PLAINTEXT":
            settings["security.protocol"] = self.security_protocol
        for key, value in (
            ("sasl.mechanism", self.sasl_mechanism),
            ("sasl.username", self.sasl_username),
            ("ssl.ca.location", self.ssl_ca_location),
            ("ssl.certificate.location", self.ssl_certificate_location),
            ("ssl.key.location", self.ssl_key_location),
        ):
            if value:
                settings[key] = value
        return settings


@dataclass(frozen=True)
class ObjectStorage:
    """S3-compatible storage (bundled SeaweedFS or the operator's); keys come from env.S3_*."""

    endpoint_url: str = "http://seaweedfs:8333"
    region: str = "us-east-1"
    nodestore_bucket: str = "nodestore"
    profiles_bucket: str = "profiles"
    files_bucket: str = "files"
    addressing_style: str = "path"


@dataclass(frozen=True)
class FilesContext:
    url: str
    admin_email: str
    relay_public_key: str
    relay_id: str
    profile: Profile = "errors-only"
    event_retention_days: int = 90
    mail: Mail = field(default_factory=Mail)
    postgres: Postgres = field(default_factory=Postgres)
    redis: Redis = field(default_factory=Redis)
    kafka: Kafka = field(default_factory=Kafka)
    storage: ObjectStorage = field(default_factory=ObjectStorage)
    hosts: Hosts = field(default_factory=Hosts)
    # "s3" only when Sentry's image ships sentry-nodestore-s3 (upstream builds it in).
    nodestore: Literal["postgres", "s3"] = "postgres"
    # Uploaded files: upstream's directory on sentry-data, or the S3 store's `files` bucket.
    filestore: Literal["filesystem", "s3"] = "filesystem"
    # Networks whose requests Sentry treats as internal (system token, relays by address). They
    # must contain Symbolicator's address. Empty: this container's own networks, read at start-up.
    internal_networks: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For nginx believes (the ingress controller, a host proxy).
    trusted_proxies: tuple[str, ...] = PRIVATE_NETWORKS
    # More origins allowed to POST forms (the public URL's origin always is).
    extra_csrf_origins: tuple[str, ...] = ()
    # A GeoLite2/GeoIP2 City database mounted by the operator; None keeps geolocation off.
    geoip_path: Optional[str] = None
    clickhouse_memory_limit_mb: int = 2048
    # ClickHouse's share of its container limit; the rest covers caches it does not track.
    clickhouse_memory_ratio: float = 0.75
    web_workers: int = 3
    statsd_addr: Optional[str] = None

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be http(s)://host[:port][/path], got {self.url!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if not 0 < self.clickhouse_memory_ratio <= 0.9:
            raise ValueError("clickhouse_memory_ratio must be in (0, 0.9]")

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def url_prefix(self) -> str:
        """The public URL without a trailing slash, as Sentry's `system.url-prefix` wants it."""
        return self.url.rstrip("/")

    @property
    def feature_complete(self) -> bool:
        return self.profile == "feature-complete"


def render_files(ctx: FilesContext) -> tuple[ConfigFile, ...]:
    """Every configuration file of the deployment, named as in FILE_PATHS."""
    from .clickhouse import render_clickhouse_config, render_clickhouse_users
    from .nginx import DOCKER_DNS, render_nginx_conf
    from .relay import render_relay_config
    from .sentry_conf import render_sentry_conf_py
    from .sentry_config_yml import render_sentry_config_yml
    from .snuba_healthcheck import render_snuba_api_healthcheck
    from .symbolicator import render_symbolicator_config
    from .taskbroker import render_taskbroker_config

    contents = {
        "sentry-conf-py": render_sentry_conf_py(ctx),
        "sentry-config-yml": render_sentry_config_yml(ctx),
        "relay-config-yml": render_relay_config(ctx),
        "symbolicator-config-yml": render_symbolicator_config(ctx),
        "clickhouse-config-xml": render_clickhouse_config(ctx),
        "clickhouse-users-xml": render_clickhouse_users(),
        "nginx-conf": render_nginx_conf(ctx),
        "nginx-conf-docker": render_nginx_conf(ctx, resolver=DOCKER_DNS),
        "taskbroker-config-yml": render_taskbroker_config(ctx),
        "snuba-api-healthcheck-py": render_snuba_api_healthcheck(),
    }
    assert contents.keys() == FILE_PATHS.keys()
    return tuple(ConfigFile(name=name, content=text, secret=False) for name, text in contents.items())


__all__ = [
    "FILE_PATHS", "FilesContext", "Hosts", "Kafka", "Mail", "ObjectStorage", "Postgres", "Redis",
    "PRIVATE_NETWORKS", "PROFILES", "env", "render_files",
]
