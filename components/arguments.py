"""The settings as typed arguments: what the package's `ErrorTracking` takes, one place for every meaning.

Each key of the `error-tracking:` configuration is a key here, in snake_case (Pulumi's schema
analyzer turns `admin_email` into `adminEmail`, the configuration's own name), with its type and,
as the string right after it, its meaning. That string is the only copy: the package's schema
reads it (pulumi.provider.experimental.analyzer), and scripts/sync_descriptions.py writes it into
the README's configuration tables and Pulumi.yaml's config descriptions (tests/test_package_schema.py
fails when they differ). The arguments are validated by components.configuration, exactly as
the configuration is: nothing here checks a value.

Every argument is optional in the schema (the configuration decides what is required, with its
own message); a value can be a secret Output, and stays secret wherever it lands. No
`from __future__ import annotations` here: the analyzer reads the annotations as types.
"""

from typing import TypedDict

import pulumi


class Project(TypedDict, total=False):
    """One application that reports errors: a project with its own DSN."""

    name: pulumi.Input[str]
    "the project's name: 1-50 letters, digits, spaces, dots, dashes or underscores"
    platform: pulumi.Input[str]
    "the SDK platform (`python`, `node`, `javascript-react`, `go`...), default `other`"


class EnvFile(TypedDict, total=False):
    """An env file that gets one project's DSN (Docker)."""

    path: pulumi.Input[str]
    "the file's absolute path"
    key: pulumi.Input[str]
    "the variable to set, default `SENTRY_DSN`"
    host: pulumi.Input[str]
    "`ssh://user@host[:port]` when the file is on another host than the Docker engine's"
    host_key: pulumi.Input[str]
    "that host's key (`ssh-ed25519 AAAA…`), pinned"


class KubernetesSecret(TypedDict, total=False):
    """A Kubernetes Secret that gets one project's DSN, in the application's namespace."""

    namespace: pulumi.Input[str]
    "the application's namespace, which must exist"
    name: pulumi.Input[str]
    "the Secret's name"
    key: pulumi.Input[str]
    "the key in the Secret, default `SENTRY_DSN`"


class DsnTarget(TypedDict, total=False):
    """Where one project's DSN is delivered: exactly one of `envFile` and `kubernetesSecret`."""

    project: pulumi.Input[str]
    "the project whose DSN this is"
    env_file: EnvFile
    "an env file (platform `docker`)"
    kubernetes_secret: KubernetesSecret
    "a Secret (platform `kubernetes`)"


class Drill(TypedDict, total=False):
    """The monthly restore drill."""

    enabled: pulumi.Input[bool]
    "run the drill, default `true`"
    day_of_month: pulumi.Input[int]
    "the day it runs, default `1`"
    hour: pulumi.Input[int]
    "the hour (UTC) it runs"
    minute: pulumi.Input[int]
    "the minute it runs"


class Offsite(TypedDict, total=False):
    """Off-site copies of every dump, to an S3-compatible bucket."""

    enabled: pulumi.Input[bool]
    "copy the dumps, default `true` once `offsite` is set"
    provider: pulumi.Input[str]
    "rclone's S3 provider name (`AWS`, `Minio`, `Other`...)"
    endpoint: pulumi.Input[str]
    "the S3 endpoint, `https://...`"
    bucket: pulumi.Input[str]
    "the bucket"
    prefix: pulumi.Input[str]
    "a prefix inside the bucket"
    region: pulumi.Input[str]
    "the bucket's region"
    access_key_id: pulumi.Input[str]
    "the access key's id"
    secret_access_key: pulumi.Input[str]
    "the access key's secret: must be a secret"
    hour: pulumi.Input[int]
    "the hour (UTC) the copy runs, default an hour after the backup"
    minute: pulumi.Input[int]
    "the minute the copy runs"
    retention_days: pulumi.Input[int]
    "days a copy is kept there, default the backup's"


class Backup(TypedDict, total=False):
    """Backups of the app's own database."""

    enabled: pulumi.Input[bool]
    "daily verified dumps, default `true`"
    hour: pulumi.Input[int]
    "the hour (UTC) of the daily dump, default `3`"
    minute: pulumi.Input[int]
    "its minute, default `0`"
    retention_days: pulumi.Input[int]
    "days a dump is kept, default `30`"
    drill: Drill
    "the monthly restore drill"
    offsite: Offsite
    "off-site copies to an S3 bucket"


class Telegram(TypedDict, total=False):
    """Alerts to a Telegram chat."""

    bot_token: pulumi.Input[str]
    "the bot's token from BotFather: must be a secret"
    chat_id: pulumi.Input[str]
    "the numeric chat id (negative for groups) or `@channel`"


class Webhook(TypedDict, total=False):
    """Alerts posted to a webhook."""

    url: pulumi.Input[str]
    "the webhook's URL, whose path or query is its token: must be a secret"


class Email(TypedDict, total=False):
    """Alerts by e-mail, through `glitchtip.emailUrl`."""

    to: pulumi.Input[list[pulumi.Input[str]]]
    "the recipients"


class Alerts(TypedDict, total=False):
    """The watchdog's targets and thresholds."""

    telegram: Telegram
    "a Telegram chat"
    webhook: Webhook
    "a webhook"
    email: Email
    "e-mail recipients"
    disk_free_percent: pulumi.Input[int]
    "alert below this much free disk, default `10`"
    backup_max_age_hours: pulumi.Input[int]
    "alert when the newest backup is older, default `26`"
    fail_after: pulumi.Input[int]
    "alert once a check failed this many times within its last `failWindow` checks, default `3`"
    fail_window: pulumi.Input[int]
    "how many of a check's last runs `failAfter` counts, from `failAfter` to 60, default `2 × failAfter − 1` (5)"
    heartbeat_max_age_seconds: pulumi.Input[int]
    "the worker's heartbeat may be this old"
    interval_seconds: pulumi.Input[int]
    "how often the watchdog checks (Docker)"


class PostDeployCheck(TypedDict, total=False):
    """The check after each deployment."""

    enabled: pulumi.Input[bool]
    "check health and ingest after each deployment, default `false`"
    timeout_seconds: pulumi.Input[int]
    "how long the tracker has to answer, default `300`"


class Resources(TypedDict, total=False):
    """One container's limits and requests."""

    memory_mb: pulumi.Input[int]
    "the memory limit, MiB"
    cpu: pulumi.Input[float]
    "the CPU limit, cores"
    memory_request_mb: pulumi.Input[int]
    "the memory request (reservation), MiB"
    cpu_request: pulumi.Input[float]
    "the CPU request, cores"


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


class Docker(TypedDict, total=False):
    """The Docker platform's settings."""

    host: pulumi.Input[str]
    "or `tcp://host:port`, `ssh://user@host[:port]`"
    ssh_opts: pulumi.Input[list[pulumi.Input[str]]]
    "extra ssh options for the Docker provider"
    ssh_host_key: pulumi.Input[str]
    "the host's key (`ssh-ed25519 AAAA…`), pinned by the post-deploy check over SSH"
    bind_address: pulumi.Input[str]
    "address the web port is published on (`0.0.0.0` only if you mean it)"
    port: pulumi.Input[int]
    "host port of the web UI and ingest (Sentry: its nginx)"
    name_prefix: pulumi.Input[str]
    "container, network and volume name prefix"
    host_paths: pulumi.Input[dict[str, pulumi.Input[str]]]
    "keep a volume in a host directory: `{backups: /var/backups/glitchtip}`"


class Ingress(TypedDict, total=False):
    """The Ingress for the `url` host."""

    class_name: pulumi.Input[str]
    "the Ingress class for the `url` host"
    annotations: pulumi.Input[dict[str, pulumi.Input[str]]]
    "the Ingress' annotations; yours win"
    cluster_issuer: pulumi.Input[str]
    "TLS via cert-manager: its ClusterIssuer"
    tls_secret: pulumi.Input[str]
    "TLS from an existing Secret"
    max_body_mb: pulumi.Input[int]
    ("body limit, set for ingress-nginx and MicroK8s' `public` class (`proxy-body-size`); other controllers must "
     "allow it themselves")
    controller_namespace: pulumi.Input[str]
    ("the namespace of the ingress controller's pods: the only namespace allowed to reach the entrypoint (and "
     "cert-manager's HTTP-01 solver)")
    source_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    ("addresses a load balancer or a hostNetwork controller sends from, allowed to the entrypoint too (see "
     "Kubernetes below)")


class Gateway(TypedDict, total=False):
    """An HTTPRoute on an existing Gateway, instead of an Ingress."""

    name: pulumi.Input[str]
    "the Gateway's name"
    namespace: pulumi.Input[str]
    "the Gateway's namespace"
    section_name: pulumi.Input[str]
    "its HTTPS listener"
    controller_namespace: pulumi.Input[str]
    "the namespace of the Gateway's proxy pods"
    source_cidrs: pulumi.Input[list[pulumi.Input[str]]]
    "addresses its load balancer sends from"


class Autoscaling(TypedDict, total=False):
    """A HorizontalPodAutoscaler for one service."""

    min_replicas: pulumi.Input[int]
    "the fewest replicas"
    max_replicas: pulumi.Input[int]
    "the most replicas"
    target_cpu_percent: pulumi.Input[int]
    "the CPU use it aims for, default `75`"


class Dns(TypedDict, total=False):
    """Where pods resolve names."""

    namespace: pulumi.Input[str]
    "the DNS pods' namespace"
    ports: pulumi.Input[list[pulumi.Input[int]]]
    "the ports they listen on"
    addresses: pulumi.Input[list[pulumi.Input[str]]]
    "addresses answering on 53 outside any pod"


class Kubernetes(TypedDict, total=False):
    """The Kubernetes platform's settings."""

    kubeconfig: pulumi.Input[str]
    ("which cluster: a kubeconfig's contents (a secret; as the package's argument it may be unknown at preview) or "
     "its file's path; default the ambient one")
    context: pulumi.Input[str]
    "the kubeconfig's context, default its current one"
    namespace: pulumi.Input[str]
    ("where everything goes; a created namespace is kept on delete and labelled for Pod Security Admission (below). "
     "`default`, `kube-system`, `kube-public` and `kube-node-lease` are refused")
    create_namespace: pulumi.Input[bool]
    ("create the namespace; with `false` the program **closes the namespace it is given** with a default-deny "
     "NetworkPolicy (every pod in it, the app's and any other, loses all traffic the app's policies do not allow) and "
     "does not label it: it says so at every preview, with the `kubectl label` to run")
    storage_class: pulumi.Input[str]
    "for every PersistentVolumeClaim"
    shared_storage_class: pulumi.Input[str]
    ("a ReadWriteMany class for claims pods on several nodes mount at once (GlitchTip's uploads; Sentry's sentry-data "
     "with `sentry.filestore: filesystem`); required when there is such a claim, refused at preview otherwise")
    ingress: Ingress
    "the Ingress for the `url` host"
    gateway: Gateway
    ("`{name, namespace, sectionName?, controllerNamespace or sourceCidrs}`: an HTTPRoute on that Gateway instead of "
     "an Ingress (request body limits are then the Gateway's setting)")
    autoscaling: pulumi.Input[dict[str, Autoscaling]]
    "`{minReplicas, maxReplicas, targetCpuPercent: 75}` for a scalable service"
    egress: pulumi.Input[dict[str, pulumi.Input[list[pulumi.Input[str]]]]]
    ("CIDRs for outside destinations (`mail`, `internet`, `integrations`, `database`, `s3`, `kafka`, "
     "`kubernetes-api`...), `[]` closes one (not `kubernetes-api`); a public one (`internet`, Sentry's "
     "`integrations`) also excludes `clusterNetworks` unless you name addresses inside them")
    cluster_networks: pulumi.Input[list[pulumi.Input[str]]]
    ("what the public destinations may not reach: your pod and service ranges; default 10/8, 172.16/12, 192.168/16, "
     "100.64/10, fc00::/7")
    dns: Dns
    ("where pods resolve: the DNS pods' namespace and port, and addresses answering on 53 outside any pod (see "
     "Kubernetes below)")
    cilium_api_server: pulumi.Input[bool]
    ("on Cilium, also a CiliumNetworkPolicy letting the bootstrap Job and the watchdog reach the `kube-apiserver` "
     "entity")
    volume_sizes: pulumi.Input[dict[str, pulumi.Input[int]]]
    ("`{uploads: 50, postgres-data: 100}` in GiB. A store's claim (a StatefulSet's volumeClaimTemplate) is never "
     "resized or replaced by `up`: a larger size is refused at preview with the `kubectl patch pvc` that expands it "
     "(where its StorageClass has `allowVolumeExpansion`), accepted once the claim has grown; a smaller size or "
     "another `storageClass` is refused (output `deployed.kubernetesClaims` records the sizes)")
    task_timeout_seconds: pulumi.Input[int]
    "deadline of each install Job"
    render_yaml_to: pulumi.Input[str]
    ("write manifests to a directory instead of applying them; they include Secrets **in plaintext**: keep that "
     "directory out of git (`/rendered/` is ignored) and DSNs stay unknown")


class ErrorTrackingArgs(TypedDict, total=False):
    """The whole configuration, one argument per `error-tracking:` key."""

    app: pulumi.Input[str]
    "which tracker to run: `glitchtip` or `sentry` (self-hosted 26.8.0)"
    platform: pulumi.Input[str]
    "where it runs: `docker` (one engine: local, `tcp://` or `ssh://`) or `kubernetes`"
    url: pulumi.Input[str]
    ("public base URL: scheme and host (and port), no path or query (Sentry serves only at the root of its host); a "
     "DNS name (no underscore; on Kubernetes no IP address); the host of every DSN")
    admin_email: pulumi.Input[str]
    "the superuser; its password is generated (output `adminPassword`)"
    organization: pulumi.Input[str]
    "organization name; a team of the same name is created"
    projects: pulumi.Input[list[Project]]
    "list of `{name, platform?}` (SDK platform, default `other`); one DSN each"
    dsn_targets: pulumi.Input[list[DsnTarget]]
    ("where to deliver DSNs: `{project, envFile: {path, key?, host?, hostKey?}}` (docker) or `{project, "
     "kubernetesSecret: {namespace, name, key?}}` (kubernetes), see [How applications get their "
     "DSN](#how-applications-get-their-dsn)")
    database_url: pulumi.Input[str]
    ("GlitchTip: an existing PostgreSQL (`postgres://...`) instead of ours (empty: ours); holds a password: must be a "
     "secret")
    valkey_url: pulumi.Input[str]
    ("GlitchTip: an existing Valkey or Redis (`redis://`, `rediss://`...) instead of ours (empty: ours); must be a "
     "secret")
    protect: pulumi.Input[bool]
    "protect data volumes and the namespace: `pulumi destroy` refuses (prod)"
    backup: Backup
    ("backups of the app's own Postgres, `{enabled, hour, minute, retentionDays, drill, offsite}`: daily verified "
     "dumps, a monthly restore drill, off-site copies (keys as secrets), see "
     "[Backups](#backups-restore-drill-off-site-copies)")
    alerts: Alerts
    ("the watchdog's targets, `{telegram: {botToken, chatId}, webhook: {url}, email: {to}}` (tokens and the webhook "
     "as secrets), and thresholds; none: no watchdog, see [Watchdog and alerts](#watchdog-and-alerts)")
    post_deploy_check: PostDeployCheck
    ("`{enabled, timeoutSeconds: 300}`: after `up`, wait until the tracker answers on its health endpoint and "
     "accepts an event for its own project `error-tracking-check` (on in dev), see [below](#post-deploy-check)")
    glitchtip: Glitchtip
    ("GlitchTip's own settings (`version`, `mode`, `valkey`, `emailUrl`, `replicas`, `resources`, `env`...), see "
     "[`glitchtip`](#glitchtip)")
    sentry: Sentry
    ("self-hosted Sentry's own settings (`version`, `profile`, `mail`, `workers`, `kafka`, `resources`, `external`, "
     "`nodestore`, `filestore`, `internalNetworks`, `env`), see [`sentry`](#sentry)")
    docker: Docker
    ("the Docker platform's settings (`host`, `sshOpts`, `sshHostKey`, `bindAddress`, `port`, `namePrefix`, "
     "`hostPaths`), see [`docker`](#docker)")
    kubernetes: Kubernetes
    ("the Kubernetes platform's settings (`kubeconfig`, `context`, `namespace`, `storageClass`, `ingress` or "
     "`gateway`, `autoscaling`, `egress`, `dns`, `volumeSizes`...), see [`kubernetes`](#kubernetes)")
