"""The `sentry.external` section: stores run outside this stack (Postgres, Redis, Kafka, ClickHouse,
S3), each replacing the bundled service; passwords and keys read as secrets. Only reads and checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from components.validation import Section, url_problem

from components.apps.sentry import catalog

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class ExternalPostgres:
    host: str
    port: int
    database: str
    username: str
    password: str  # secret
    ssl_mode: Optional[str]


@dataclass(frozen=True)
class ExternalRedis:
    host: str
    port: int
    password: Optional[str]  # secret
    db: int
    tls: bool


@dataclass(frozen=True)
class ExternalKafka:
    bootstrap_servers: tuple[str, ...]
    security_protocol: str
    sasl_mechanism: Optional[str]
    sasl_username: Optional[str]
    sasl_password: Optional[str]  # secret
    replication_factor: int


@dataclass(frozen=True)
class ExternalClickHouse:
    host: str
    tcp_port: int
    http_port: int
    database: str
    username: str
    password: str  # secret
    secure: bool


@dataclass(frozen=True)
class ExternalS3:
    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str  # secret
    nodestore_bucket: str
    profiles_bucket: str
    files_bucket: str
    addressing_style: str


@dataclass(frozen=True)
class External:
    postgres: Optional[ExternalPostgres] = None
    redis: Optional[ExternalRedis] = None
    kafka: Optional[ExternalKafka] = None
    clickhouse: Optional[ExternalClickHouse] = None
    s3: Optional[ExternalS3] = None

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(k for k in catalog.EXTERNAL_REPLACES if getattr(self, k) is not None)


def host_problem(value: str) -> Optional[str]:
    return None if _HOST.match(value) else "must be a host name or IP address without scheme or port"


def parse_external(section: Section) -> External:
    parsers = {"postgres": _postgres, "redis": _redis, "kafka": _external_kafka, "clickhouse": _clickhouse,
               "s3": _s3}
    found = {}
    for key, parse in parsers.items():
        if section.has(key):
            item = section.section(key)
            found[key] = parse(item)
            item.finish()
        section.raw(key)
    section.finish(" (each replaces the bundled service)")
    return External(**found)


def _postgres(s: Section) -> ExternalPostgres:
    return ExternalPostgres(s.string("host", check=host_problem), s.integer("port", 5432, minimum=1, maximum=65535),
                            s.string("database", "postgres"), s.string("username", "postgres"),
                            s.string("password", secret=True), s.string("sslMode", None, choices=SSL_MODES))


def _redis(s: Section) -> ExternalRedis:
    return ExternalRedis(s.string("host", check=host_problem), s.integer("port", 6379, minimum=1, maximum=65535),
                         s.string("password", None, secret=True), s.integer("db", 0, minimum=0, maximum=15),
                         s.boolean("tls", False))


def _external_kafka(s: Section) -> ExternalKafka:
    raw = s.raw("bootstrapServers")
    servers: tuple[str, ...] = ()
    if raw is None:
        s.error("bootstrapServers", "is required: host:port, a list or a comma-separated string")
    else:
        items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else None
        if not items or not all(isinstance(i, str) and _server_ok(i.strip()) for i in items):
            s.error("bootstrapServers", f"must be host:port entries (a list or comma-separated), got {raw!r}")
        else:
            servers = tuple(i.strip() for i in items)
    protocol = s.string("securityProtocol", "PLAINTEXT", choices=SECURITY_PROTOCOLS) or "PLAINTEXT"
    sasl = s.section("sasl")
    mechanism = username = password = None
    if protocol.startswith("SASL_"):
        mechanism = sasl.string("mechanism", choices=SASL_MECHANISMS)
        username = sasl.string("username")
        password = sasl.string("password", secret=True)
    elif sasl.data:
        s.error("sasl", f"needs securityProtocol SASL_PLAINTEXT or SASL_SSL, not {protocol}")
        sasl.seen.update(sasl.data)
    sasl.finish()
    return ExternalKafka(servers, protocol, mechanism, username, password,
                         s.integer("replicationFactor", 1, minimum=1, maximum=5))


def _server_ok(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and _HOST.match(host) is not None and port.isdigit() and 1 <= int(port) <= 65535


def _clickhouse(s: Section) -> ExternalClickHouse:
    secure = s.boolean("secure", False)
    return ExternalClickHouse(
        s.string("host", check=host_problem), s.integer("tcpPort", 9440 if secure else 9000, minimum=1, maximum=65535),
        s.integer("httpPort", 8443 if secure else 8123, minimum=1, maximum=65535), s.string("database", "default"),
        s.string("username", "default"), s.string("password", secret=True), secure)


def _s3(s: Section) -> ExternalS3:
    bucket = lambda v: None if _BUCKET.match(v) else "must be an S3 bucket name (3-63 lower-case letters, digits, . -)"
    return ExternalS3(s.string("endpointUrl", check=url_problem), s.string("region", "us-east-1"),
                      s.string("accessKeyId"), s.string("secretAccessKey", secret=True),
                      s.string("nodestoreBucket", "nodestore", check=bucket),
                      s.string("profilesBucket", "profiles", check=bucket),
                      s.string("filesBucket", "files", check=bucket),
                      s.string("addressingStyle", "path", choices=("path", "virtual")))
