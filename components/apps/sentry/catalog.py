"""getsentry/self-hosted 26.8.0's 57 services, each once, as data: a shape plus its delta.

Read it beside upstream's compose file (getsentry/self-hosted@26.8.0:docker-compose.yml): most
services are a shape (`SENTRY` = upstream's `x-sentry-defaults`, `SNUBA` = `x-snuba-defaults`)
plus a command; the rest run their own image (`OWN`) and say so here. Commands are upstream's
strings; `{poll}` stands for `${SENTRY_KAFKA_MAX_POLL_INTERVAL_MS:-300000}` and `{concurrency}`
for `$SENTRY_TASKWORKER_CONCURRENCY`, both resolved from the `sentry:` settings. The shape
functions (services.py) turn an entry into a `components.spec.Service`; images.py names each
image and the user it runs as.

Where this catalog departs from upstream, on purpose (tests/test_sentry_catalog.py lists each):
published `ghcr.io/getsentry/*:<version>` images instead of the locally built
`sentry-self-hosted-local` (so the image's own entrypoint, not the bind-mounted
/etc/sentry/entrypoint.sh), ClickHouse from upstream's BASE_IMAGE, a maintained non-root exim
relay (pinned) instead of the untagged smtp image, `sentry-cleanup` as a loop in the published Sentry image instead of cron, Valkey's
password and memory bound as arguments instead of a mounted redis.conf, and no GeoIP or custom-CA
directories. Postgres, Valkey and ClickHouse get passwords (environment.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from components.apps.sentry.files import FILE_PATHS
from components.apps.sentry.files.nginx import EDGE_PORT
from components.apps.sentry.images import SMTP_PORT

ERRORS_ONLY = "errors-only"
FEATURE_COMPLETE = "feature-complete"
PROFILES = (ERRORS_ONLY, FEATURE_COMPLETE)

# Shapes: how a service is built (services.py), like upstream's YAML anchors.
SENTRY, SNUBA, OWN = "sentry", "snuba", "own"
# depends_on conditions, as upstream's `x-depends_on-healthy` / `x-depends_on-default`.
HEALTHY, STARTED = "service_healthy", "service_started"
# Scaling: one replica; any number; bounded by the partitions of the topics it consumes.
SINGLE, ANY, TOPIC = "single", "any", "topic"

# Upstream's shared dependency lists (x-sentry-defaults, x-snuba-defaults).
SENTRY_DEPENDS = (("redis", HEALTHY), ("kafka", HEALTHY), ("pgbouncer", HEALTHY), ("memcached", STARTED),
                  ("smtp", STARTED), ("seaweedfs", STARTED), ("snuba-api", STARTED), ("symbolicator", STARTED))
SNUBA_DEPENDS = (("clickhouse", HEALTHY), ("kafka", HEALTHY), ("redis", HEALTHY))

# The configuration files files/ renders, by mount path (all plain: secrets travel as secret_env),
# and Valkey's, which can only hold its password in the file (components.stores.valkey_config).
FILES = {**FILE_PATHS, "redis-conf": "/usr/local/etc/redis/redis.conf"}


@dataclass(frozen=True)
class Entry:
    """One upstream service: its shape and what differs from that shape."""

    shape: str
    command: Union[str, tuple[str, ...], None] = None  # a string is split as compose splits it
    feature_complete: bool = False  # upstream `profiles: [feature-complete]`
    health: Optional[str] = None  # key of health_checks.HEALTH
    scaling: str = TOPIC
    image: Optional[str] = None  # key of images.IMAGES (OWN shape)
    depends: tuple[tuple[str, str], ...] = ()  # OWN shape: upstream depends_on and condition
    ports: tuple[tuple[int, str], ...] = ()
    mounts: tuple[tuple[str, str], ...] = ()  # (volume, path)
    files: tuple[str, ...] = ()  # keys of FILES
    entrypoint: Union[str, tuple[str, ...], None] = None
    nofile: Optional[int] = None  # upstream ulimits.nofile
    stateful: bool = False
    stop_grace: Optional[int] = None
    shm_mb: Optional[int] = None  # upstream `shm_size`
    beside: Optional[str] = None  # a helper sharing that service's cache (spec.Workload.beside)


def _consumer(name: str, group: str, extra: str = "") -> str:
    """`sentry run consumer` with upstream's common flags, in upstream's order."""
    return (f"run consumer {name} --consumer-group {group} --auto-offset-reset=earliest --no-strict-offset-reset"
            f"{extra} --healthcheck-file-path /tmp/health.txt --max-poll-interval-ms {{poll}}")


def _rust(storage: str, group: str, reset: str = "latest", batch: int = 750, extra: str = "") -> str:
    return (f"rust-consumer --storage {storage} --consumer-group {group} --auto-offset-reset={reset} "
            f"--max-batch-time-ms {batch} --no-strict-offset-reset{extra} --health-check-file /tmp/health.txt "
            f"--max-poll-interval-ms {{poll}}")


def _scheduler(dataset: str, entities: str, group: str, followed: str) -> str:
    return (f"subscriptions-scheduler-executor --dataset {dataset} {entities} --auto-offset-reset=latest "
            f"--no-strict-offset-reset --consumer-group={group} --followed-consumer-group={followed} "
            "--schedule-ttl=60 --stale-threshold-seconds=900 --health-check-file /tmp/health.txt")


def _sentry(command: str, fc: bool = False, health: Optional[str] = "file", scaling: str = TOPIC, **delta) -> Entry:
    return Entry(SENTRY, command, fc, health, scaling, **delta)


def _snuba(command: Optional[str], fc: bool = False, health: Optional[str] = "file", scaling: str = TOPIC,
           **delta) -> Entry:
    return Entry(SNUBA, command, fc, health, scaling, **delta)


def _own(image: str, command: Optional[str] = None, fc: bool = False, health: Optional[str] = None,
         scaling: str = SINGLE, **delta) -> Entry:
    return Entry(OWN, command, fc, health, scaling, image=image, **delta)


# sentry-cleanup: upstream's daily 00:00 UTC `sentry cleanup` as a loop in the published image
# (no cron there), on Docker; a CronJob on Kubernetes (services.cleanup_schedule). `sleep & wait`
# lets the TERM trap stop it at once. Each run leaves `.last-sentry-cleanup-ok` or `-failed` (with
# the exit code and the last line it printed) in CLEANUP_STATUS_DIR for the watchdog; a host that
# has never recorded a success runs it once at start, so a fresh install is not reported as missed.
CLEANUP_STATUS_VOLUME = "sentry-cleanup-status"
CLEANUP_STATUS_DIR = "/var/lib/sentry-cleanup"
CLEANUP_JOB = "sentry-cleanup"
# Shell braces are doubled: services.py fills in `{days}` with str.format.
CLEANUP_LOOP = ("""\
trap 'exit 0' TERM INT
status=STATUS_DIR
run() {{
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  rm -f "$status/.exit"
  {{ sentry cleanup --days {days} 2>&1; echo $? > "$status/.exit"; }} | tee "$status/.output"
  code=$(cat "$status/.exit" 2>/dev/null || echo 1)
  if [ "$code" = 0 ]; then
    echo "sentry cleanup --days {days} started $started finished $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$status/.ok.tmp"
    mv "$status/.ok.tmp" "$status/.last-JOB-ok"
  else
    echo "sentry cleanup exited $code (started $started): $(tail -n 1 "$status/.output")" > "$status/.failed.tmp"
    mv "$status/.failed.tmp" "$status/.last-JOB-failed"
    echo 'sentry cleanup failed; recorded for the watchdog, retrying tomorrow' >&2
  fi
}}
[ -e "$status/.last-JOB-ok" ] || run
while :; do
  sleep $((86400 - $(date -u +%s) % 86400)) & wait $!
  run
done
""").replace("STATUS_DIR", CLEANUP_STATUS_DIR).replace("JOB", CLEANUP_JOB)
_PPF = " --synchronize-commit-log-topic={} --synchronize-commit-group {}"
_FC = True

CATALOG: dict[str, Entry] = {
    # --- stores and edge (upstream writes these out one by one) -----------------------------
    # A maintained non-root exim relay instead of upstream's untagged root one (images.py): its
    # spool in a volume of its own (Debian's exim4 spool, in upstream's sentry-smtp, belongs to
    # another uid), its log on stdout (no sentry-smtp-log), on its unprivileged port.
    "smtp": _own("smtp", mounts=(("sentry-smtp-spool", "/var/spool/exim"),), ports=((SMTP_PORT, "smtp"),)),
    "memcached": _own("memcached", "-I 1M", health="memcached", ports=((11211, "memcached"),)),
    # Upstream's mounted redis.conf, rendered by the app with a password and a maxmemory that
    # follows the limit (components.stores.valkey_config): a secret file, never an argument.
    "redis": _own("redis", "valkey-server /usr/local/etc/redis/redis.conf", health="redis", stateful=True,
                  files=("redis-conf",), mounts=(("sentry-redis", "/data"),), ports=((6379, "redis"),),
                  nofile=10032, stop_grace=30),
    "postgres": _own("postgres", "postgres", health="postgres", stateful=True, ports=((5432, "postgres"),),
                     mounts=(("sentry-postgres", "/var/lib/postgresql/data"),), stop_grace=60, shm_mb=256),
    "pgbouncer": _own("pgbouncer", health="pgbouncer", scaling=ANY, depends=(("postgres", HEALTHY),),
                      ports=((5432, "postgres"),)),
    "kafka": _own("kafka", health="kafka", stateful=True, ports=((9092, "kafka"),), nofile=100000, stop_grace=60,
                  mounts=(("sentry-kafka", "/var/lib/kafka/data"), ("sentry-kafka-log", "/var/lib/kafka/log"),
                          ("sentry-secrets", "/etc/kafka/secrets"))),
    "clickhouse": _own("clickhouse", health="clickhouse", stateful=True, nofile=262144, stop_grace=60,
                       ports=((9000, "native"), (8123, "http")),
                       mounts=(("sentry-clickhouse", "/var/lib/clickhouse"),
                               ("sentry-clickhouse-log", "/var/log/clickhouse-server")),
                       files=("clickhouse-config-xml", "clickhouse-users-xml")),
    "seaweedfs": _own("seaweedfs", "mini -dir=/data -filer.defaultReplicaPlacement=000 -metricsPort=9091 "
                      "-volume.dir.idx=/data/idx -volume.index=leveldbLarge -volume.preStopSeconds=8 "
                      "-volume.readMode=redirect -ip.bind=0.0.0.0 -webdav=false", health="seaweedfs",
                      entrypoint="weed", stateful=True, mounts=(("sentry-seaweedfs", "/data"),),
                      ports=((8333, "s3"),), stop_grace=30),
    # Upstream publishes port 80; nginx's unprivileged image listens on EDGE_PORT (files/nginx.py).
    "nginx": _own("nginx", health="nginx", depends=(("web", HEALTHY), ("relay", STARTED)), ports=((EDGE_PORT, "http"),),
                  files=("nginx-conf",), mounts=(("sentry-nginx-cache", "/var/cache/nginx"),
                                                 ("sentry-nginx-www", "/var/www"))),
    # --- Snuba (x-snuba-defaults) -----------------------------------------------------------
    "snuba-api": _snuba(None, health="snuba-api", scaling=ANY, files=("snuba-api-healthcheck-py",),
                        ports=((1218, "http"),)),
    "snuba-errors-consumer": _snuba(_rust("errors", "snuba-consumers")),
    "snuba-outcomes-consumer": _snuba(_rust("outcomes_raw", "snuba-consumers", "earliest")),
    "snuba-outcomes-accepted-consumer": _snuba(
        "accepted-outcomes-consumer --storage eap_items --consumer-group accepted_outcomes "
        "--auto-offset-reset=earliest --max-batch-time-ms 750 --no-strict-offset-reset "
        "--accepted-outcomes-topic outcomes-billing --max-poll-interval-ms {poll}", _FC, health=None),
    "snuba-outcomes-billing-consumer": _snuba(_rust("outcomes_raw", "snuba-consumers", "earliest",
                                                    extra=" --raw-events-topic outcomes-billing")),
    "snuba-group-attributes-consumer": _snuba(_rust("group_attributes", "snuba-group-attributes-consumers")),
    "snuba-replacer": _snuba("replacer --storage errors --auto-offset-reset=latest --no-strict-offset-reset "
                             "--health-check-file /tmp/health.txt --max-poll-interval-ms {poll}"),
    "snuba-subscription-consumer-events": _snuba(_scheduler(
        "events", "--entity events", "snuba-events-subscriptions-consumers", "snuba-consumers"), scaling=SINGLE),
    "snuba-transactions-consumer": _snuba(_rust("transactions", "transactions_group"), _FC),
    "snuba-replays-consumer": _snuba(_rust("replays", "snuba-consumers"), _FC),
    "snuba-issue-occurrence-consumer": _snuba(_rust("search_issues", "generic_events_group"), _FC),
    "snuba-metrics-consumer": _snuba(_rust("metrics_raw", "snuba-metrics-consumers"), _FC),
    "snuba-subscription-consumer-transactions": _snuba(_scheduler(
        "transactions", "--entity transactions", "snuba-transactions-subscriptions-consumers",
        "transactions_group"), _FC, scaling=SINGLE),
    "snuba-subscription-consumer-metrics": _snuba(_scheduler(
        "metrics", "--entity metrics_sets --entity metrics_counters", "snuba-metrics-subscriptions-consumers",
        "snuba-metrics-consumers"), _FC, scaling=SINGLE),
    "snuba-subscription-consumer-generic-metrics-counters": _snuba(_scheduler(
        "generic_metrics", "--entity=generic_metrics_counters",
        "snuba-generic-metrics-counters-subscriptions-schedulers", "snuba-gen-metrics-counters-consumers"),
        _FC, scaling=SINGLE),
    "snuba-generic-metrics-counters-consumer": _snuba(_rust("generic_metrics_counters_raw",
                                                            "snuba-gen-metrics-counters-consumers"), _FC),
    "snuba-profiling-profiles-consumer": _snuba(_rust("profiles", "snuba-consumers", batch=1000), _FC),
    "snuba-profiling-functions-consumer": _snuba(_rust("functions_raw", "snuba-consumers", batch=1000), _FC),
    "snuba-profiling-profile-chunks-consumer": _snuba(_rust("profile_chunks", "snuba-consumers", batch=1000), _FC),
    "snuba-eap-items-consumer": _snuba(_rust("eap_items", "eap_items_group", batch=1000,
                                             extra=" --use-rust-processor"), _FC),
    "snuba-subscription-consumer-eap-items": _snuba(_scheduler(
        "events_analytics_platform", "--entity eap_items", "snuba-eap-items-subscriptions-consumers",
        "eap_items_group"), scaling=SINGLE),
    # --- Symbolicator -----------------------------------------------------------------------
    "symbolicator": _own("symbolicator", "run -c /etc/symbolicator/config.yml", health="symbolicator",
                         mounts=(("sentry-symbolicator", "/data"),), files=("symbolicator-config-yml",),
                         ports=((3021, "http"),)),
    # The cache is each Symbolicator's own (symbolicator's caching docs: one process per cache
    # directory), so its cleaner runs beside it: a second container of its pod on Kubernetes.
    "symbolicator-cleanup": _own("symbolicator", "cleanup -c /etc/symbolicator/config.yml --repeat 1h",
                                 mounts=(("sentry-symbolicator", "/data"),), files=("symbolicator-config-yml",),
                                 beside="symbolicator"),
    # --- Sentry (x-sentry-defaults) ---------------------------------------------------------
    "web": _sentry("run web", health="web", scaling=ANY, nofile=4096, ports=((9000, "http"),)),
    "events-consumer": _sentry(_consumer("ingest-events", "ingest-consumer")),
    "attachments-consumer": _sentry(_consumer("ingest-attachments", "ingest-consumer")),
    "post-process-forwarder-errors": _sentry(
        "run consumer post-process-forwarder-errors --auto-offset-reset=earliest --no-strict-offset-reset "
        "--consumer-group post-process-forwarder --synchronize-commit-log-topic=snuba-commit-log "
        "--synchronize-commit-group=snuba-consumers --healthcheck-file-path /tmp/health.txt "
        "--max-poll-interval-ms {poll}"),
    "transactions-consumer": _sentry(_consumer("ingest-transactions", "ingest-consumer"), _FC),
    "metrics-consumer": _sentry(_consumer("ingest-metrics", "metrics-consumer"), _FC),
    "generic-metrics-consumer": _sentry(_consumer("ingest-generic-metrics", "generic-metrics-consumer"), _FC),
    "ingest-occurrences": _sentry(_consumer("ingest-occurrences", "ingest-occurrences"), _FC),
    "ingest-monitors": _sentry(_consumer("ingest-monitors", "ingest-monitors"), _FC),
    "ingest-feedback-events": _sentry(_consumer("ingest-feedback-events", "ingest-feedback"), _FC),
    "process-spans": _sentry(_consumer("process-spans", "process-spans"), _FC),
    "process-segments": _sentry(_consumer("process-segments", "process-segments"), _FC),
    "monitors-clock-tick": _sentry(_consumer("monitors-clock-tick", "monitors-clock-tick"), _FC),
    "monitors-clock-tasks": _sentry(_consumer("monitors-clock-tasks", "monitors-clock-tasks"), _FC),
    "uptime-results": _sentry(_consumer("uptime-results", "uptime-results"), _FC),
    "post-process-forwarder-transactions": _sentry(_consumer(
        "post-process-forwarder-transactions", "post-process-forwarder",
        _PPF.format("snuba-transactions-commit-log", "transactions_group")), _FC),
    "post-process-forwarder-issue-platform": _sentry(_consumer(
        "post-process-forwarder-issue-platform", "post-process-forwarder",
        _PPF.format("snuba-generic-events-commit-log", "generic_events_group")), _FC),
    # Upstream: cron in a locally built image, `0 0 * * * gosu sentry sentry cleanup --days N`.
    "sentry-cleanup": _sentry(("/bin/sh", "-c", CLEANUP_LOOP), health=None, scaling=SINGLE,
                              mounts=((CLEANUP_STATUS_VOLUME, CLEANUP_STATUS_DIR),)),
    # --- edge, task broker and the feature-complete extras ----------------------------------
    "relay": _own("relay", health="relay", scaling=ANY, depends=(("kafka", HEALTHY), ("redis", HEALTHY), ("web", HEALTHY)),
                  files=("relay-config-yml",), ports=((3000, "http"),)),
    "taskbroker": _own("taskbroker", "/opt/taskbroker -c /etc/taskbroker/config.yml", health="taskbroker",
                       depends=(("kafka", HEALTHY),),
                       mounts=(("sentry-taskbroker", "/opt/sqlite"),), files=("taskbroker-config-yml",),
                       ports=((50051, "grpc"),), stateful=True, stop_grace=30),
    "taskscheduler": _sentry("run taskworker-scheduler", health=None, scaling=SINGLE),
    "taskworker": _sentry("run taskworker --concurrency={concurrency} --rpc-host=taskbroker:50051 "
                          "--health-check-file-path=/tmp/health.txt --max-child-task-count=10000",
                          scaling=ANY, stop_grace=60),
    "launchpad-taskworker": _own("launchpad", "worker --verbose", _FC, health="file", scaling=ANY,
                                 depends=(("kafka", HEALTHY), ("taskbroker", STARTED), ("web", HEALTHY))),
    "vroom": _own("vroom", fc=_FC, health="vroom", depends=(("kafka", HEALTHY),), ports=((8085, "http"),),
                  mounts=(("sentry-vroom", "/var/vroom/sentry-profiles"),)),
    "uptime-checker": _own("uptime-checker", "run", _FC, depends=(("kafka", HEALTHY), ("redis", HEALTHY))),
}

# Upstream's volumes (docker-compose.yml `volumes:`): size in GB and whether they hold data that
# cannot be rebuilt (`data=False`: upstream calls them caches or ephemeral).
VOLUMES = {
    "sentry-data": (20, True), "sentry-postgres": (20, True), "sentry-redis": (2, True),
    "sentry-kafka": (30, True), "sentry-clickhouse": (50, True), "sentry-seaweedfs": (20, True),
    "sentry-symbolicator": (10, False), "sentry-nginx-www": (1, False), "sentry-vroom": (5, True),
    "sentry-taskbroker": (1, True), "sentry-secrets": (1, False), "sentry-smtp-spool": (1, False),
    "sentry-nginx-cache": (1, False), "sentry-kafka-log": (1, False),
    "sentry-clickhouse-log": (1, False), CLEANUP_STATUS_VOLUME: (1, False),
}

# Stores the operator can run outside (`sentry.external.*`), and the bundled service each replaces.
# Caches and logs of one service: on Kubernetes each pod's own emptyDir instead of a claim.
LOCAL_VOLUMES = frozenset({"sentry-nginx-cache", "sentry-nginx-www", "sentry-kafka-log", "sentry-clickhouse-log",
                           "sentry-secrets", "sentry-symbolicator"})
EXTERNAL_REPLACES = {"postgres": "postgres", "redis": "redis", "kafka": "kafka", "clickhouse": "clickhouse",
                     "s3": "seaweedfs"}


def service_names(profile: str) -> tuple[str, ...]:
    """Upstream's service set for a profile: the 28 unprofiled services, or all 57."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; one of {', '.join(PROFILES)}")
    return tuple(n for n, e in CATALOG.items() if profile == FEATURE_COMPLETE or not e.feature_complete)
