"""The apps' own sections as typed arguments: `glitchtip` and `sentry`. No `from __future__ import annotations`: the analyzer reads the annotations as types.
"""

from typing import TypedDict

import pulumi

from components.arguments.common import Resources


class Glitchtip(TypedDict, total=False):
    """GlitchTip's own settings."""

    version: pulumi.Input[str]
    "pinned GlitchTip 6 release (`glitchtip/glitchtip:<version>`)"
    mode: pulumi.Input[str]
    "`split` (web + worker) or `all-in-one`"
    valkey: pulumi.Input[bool]
    '`false` = Postgres-only mode (`VALKEY_URL=""`)'
    email_url: pulumi.Input[str]
    ("secret: `smtp://`, `smtp+tls://`, `smtp+ssl://` (URL-encode `@` in user names). Without it mail is only "
     "logged: Django's default would be SMTP to localhost:25, and every invitation and alert would fail")
    from_email: pulumi.Input[str]
    "DEFAULT_FROM_EMAIL"
    retention_days: pulumi.Input[int]
    "GLITCHTIP_RETENTION_DAYS"
    open_registration: pulumi.Input[bool]
    "open sign-up (ENABLE_USER_REGISTRATION)"
    enable_admin: pulumi.Input[bool]
    "Django admin at `/admin/`"
    web_workers: pulumi.Input[int]
    "granian workers (WEB_CONCURRENCY)"
    replicas: pulumi.Input[dict[str, pulumi.Input[int]]]
    "replicas always running, by process (`web`, `worker`)"
    max_replicas: pulumi.Input[dict[str, pulumi.Input[int]]]
    "the most that may run (autoscaling), by process; Postgres connections are sized for the most"
    database_pool_size: pulumi.Input[int]
    "each process's connection pool (DATABASE_POOL_MAX_SIZE)"
    postgres_image: pulumi.Input[str]
    "the bundled Postgres' image, a pinned tag"
    valkey_image: pulumi.Input[str]
    "the bundled Valkey's image, a pinned tag"
    resources: pulumi.Input[dict[str, Resources]]
    ("`{memoryMb, cpu}` limits, `{memoryRequestMb, cpuRequest}` requests (default: the typical use, within the "
     "limit)")
    env: pulumi.Input[dict[str, pulumi.Input[str]]]
    ("any other GlitchTip setting; what the program sets is refused by name, with every variable GlitchTip reads "
     "instead of it and its `_FILE` twin (`GLITCHTIP_URL`, `APP_URL`, `DATABASE_*`, `VALKEY_*`/`REDIS_*`, `EMAIL_*`, "
     "`GRANIAN_*`, `SERVER_ROLE`, `SKIP_INIT`, ...)")


class Mail(TypedDict, total=False):
    """The SMTP server Sentry sends through, instead of the bundled relay."""

    host: pulumi.Input[str]
    "the server's host"
    port: pulumi.Input[int]
    "its port"
    username: pulumi.Input[str]
    "the user"
    password: pulumi.Input[str]
    "the password: must be a secret"
    use_tls: pulumi.Input[bool]
    "STARTTLS"
    use_ssl: pulumi.Input[bool]
    "TLS from the start"
    from_: pulumi.Input[str]
    "the sender address"


class Workers(TypedDict, total=False):
    """Sentry's workers."""

    taskworker_concurrency: pulumi.Input[int]
    "taskworker's concurrency, default `4`"
    launchpad_concurrency: pulumi.Input[int]
    "launchpad's concurrency, default `4`"
    replicas: pulumi.Input[dict[str, pulumi.Input[int]]]
    "replicas by service"


class Kafka(TypedDict, total=False):
    """Kafka's topics and volume."""

    retention_hours: pulumi.Input[int]
    "bound every topic's retention in hours"
    retention_mb_per_partition: pulumi.Input[int]
    "bound every partition in MiB"
    ingest_kb_per_second: pulumi.Input[int]
    "the ingest the volume is sized for, default `100`"
    max_poll_interval_ms: pulumi.Input[int]
    "consumers' max.poll.interval.ms, default `300000`"


class ExternalPostgres(TypedDict, total=False):
    """An existing PostgreSQL instead of the bundled one."""

    host: pulumi.Input[str]
    "its host"
    port: pulumi.Input[int]
    "its port"
    database: pulumi.Input[str]
    "the database"
    username: pulumi.Input[str]
    "the user"
    password: pulumi.Input[str]
    "the password: must be a secret"
    ssl_mode: pulumi.Input[str]
    "libpq's sslmode"


class ExternalRedis(TypedDict, total=False):
    """An existing Redis instead of the bundled one."""

    host: pulumi.Input[str]
    "its host"
    port: pulumi.Input[int]
    "its port"
    db: pulumi.Input[int]
    "the database number"
    password: pulumi.Input[str]
    "the password: must be a secret"
    tls: pulumi.Input[bool]
    "connect with TLS"


class Sasl(TypedDict, total=False):
    """SASL for the external Kafka."""

    mechanism: pulumi.Input[str]
    "`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`"
    username: pulumi.Input[str]
    "the user"
    password: pulumi.Input[str]
    "the password: must be a secret"


class ExternalKafka(TypedDict, total=False):
    """An existing Kafka instead of the bundled one."""

    bootstrap_servers: pulumi.Input[list[pulumi.Input[str]]]
    "`host:port` entries"
    security_protocol: pulumi.Input[str]
    "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`"
    sasl: Sasl
    "SASL, with a `SASL_*` protocol"
    replication_factor: pulumi.Input[int]
    "the topics' replication factor, default `1`"


class ExternalClickhouse(TypedDict, total=False):
    """An existing ClickHouse instead of the bundled one."""

    host: pulumi.Input[str]
    "its host"
    http_port: pulumi.Input[int]
    "its HTTP port"
    tcp_port: pulumi.Input[int]
    "its native port"
    database: pulumi.Input[str]
    "the database"
    username: pulumi.Input[str]
    "the user"
    password: pulumi.Input[str]
    "the password: must be a secret"
    secure: pulumi.Input[bool]
    "connect with TLS"


class ExternalS3(TypedDict, total=False):
    """An existing S3 store instead of the bundled SeaweedFS."""

    endpoint_url: pulumi.Input[str]
    "the endpoint, `https://...`"
    region: pulumi.Input[str]
    "the region"
    access_key_id: pulumi.Input[str]
    "the access key's id"
    secret_access_key: pulumi.Input[str]
    "the access key's secret: must be a secret"
    nodestore_bucket: pulumi.Input[str]
    "the node store's bucket, default `nodestore`"
    profiles_bucket: pulumi.Input[str]
    "the profiles' bucket, default `profiles`"
    files_bucket: pulumi.Input[str]
    "the files' bucket, default `files`"
    addressing_style: pulumi.Input[str]
    "`path` or `virtual`"


class External(TypedDict, total=False):
    """Stores Sentry uses instead of running its own."""

    postgres: ExternalPostgres
    "PostgreSQL"
    redis: ExternalRedis
    "Redis"
    kafka: ExternalKafka
    "Kafka"
    clickhouse: ExternalClickhouse
    "ClickHouse"
    s3: ExternalS3
    "an S3 store"


class Sentry(TypedDict, total=False):
    """Self-hosted Sentry's own settings."""

    version: pulumi.Input[str]
    "a pinned 26.8.x release (the catalog describes getsentry/self-hosted 26.8.0)"
    profile: pulumi.Input[str]
    "`errors-only` (upstream's 28 unprofiled services) or `feature-complete` (all 57)"
    event_retention_days: pulumi.Input[int]
    "`sentry cleanup --days`, object-store lifecycle"
    mail: Mail
    ("`{host, port, username, password (secret), useTls, useSsl, from}`; when set, the bundled relay is not "
     "deployed")
    workers: Workers
    ("`{taskworkerConcurrency: 4, launchpadConcurrency: 4, replicas: {<service>: n}}`; a consumer's replicas may not "
     "exceed its topic's partitions, singletons stay at one")
    kafka: Kafka
    ("`{retentionHours: —, retentionMbPerPartition: —, ingestKbPerSecond: 100, maxPollIntervalMs: 300000}`; topics "
     "keep upstream's retention (sentry-kafka-schemas: 24 h, dead-letter queues 7 days, no byte bound) unless you "
     "bound it in hours or MiB per partition; the Kafka volume is sized for `ingestKbPerSecond` of ingest (see "
     "Sizing); a change reaches existing topics on the next `pulumi up`")
    resources: pulumi.Input[dict[str, Resources]]
    ("`{memoryMb, cpu, memoryRequestMb, cpuRequest}`: limit and reservation (default: the typical use in the sizing "
     "table); an unknown service, one not in the profile, a limit below its typical use or a reservation above the "
     "limit is refused")
    external: External
    ("`{postgres, redis, kafka (bootstrapServers, securityProtocol, sasl, replicationFactor), clickhouse, s3}`: each "
     "replaces the bundled service; passwords as secrets. `s3` (`endpointUrl, region, accessKeyId, secretAccessKey, "
     "nodestoreBucket: nodestore, profilesBucket: profiles, filesBucket: files, addressingStyle`) brings its own "
     "buckets and lifecycle rules, and is refused when nothing would keep data there")
    nodestore: pulumi.Input[str]
    ("where event payloads live: upstream's S3 node store in SeaweedFS's `nodestore` bucket (expiring after "
     "`eventRetentionDays`), or Postgres (`postgres`: for Docker hosts that cannot build an image). `s3` without an "
     "image on Kubernetes is refused; going back from `s3` to `postgres` on a stack is refused")
    nodestore_image: pulumi.Input[str]
    ("your image built from [images/sentry-nodestore/Dockerfile](images/sentry-nodestore/Dockerfile) (pinned tag or "
     "digest): every Sentry process runs it, and the node store moves to S3 (Kubernetes; Docker builds it itself)")
    filestore: pulumi.Input[str]
    ("where uploaded files live (source maps, debug files, attachments): upstream's `/data/files` on the "
     "`sentry-data` volume, or the S3 store's `files` bucket (never expired). A stack deployed before this setting "
     "existed must set it (see [Moving Sentry's files to S3](#moving-sentrys-files-to-s3))")
    internal_networks: pulumi.Input[list[pulumi.Input[str]]]
    "CIDRs Sentry treats as internal (Symbolicator's system token); required on Kubernetes: the pod CIDR"
    env: pulumi.Input[dict[str, pulumi.Input[str]]]
    "extra Sentry variables; the managed ones are refused"
