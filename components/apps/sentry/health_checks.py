"""Upstream's health checks per service (getsentry/self-hosted 26.8.0 docker-compose.yml), with
its .env timings; catalog.py names a service's check by key (`Entry.health`).

Where a check must differ from upstream's for a platform, the reason is beside it. Relay and
taskbroker have none upstream (26.8.0); theirs come from their own sources, beside them.
"""

from __future__ import annotations

import posixpath
from typing import Mapping

from components import spec
from components.apps.sentry.catalog import FILES
from components.apps.sentry.files.nginx import EDGE_PORT


RELAY_PORT = 3000
RELAY_HEALTH = "/api/relay/healthcheck/{}/"
RELAY_CONFIG_DIR = posixpath.dirname(FILES["relay-config-yml"])
TASKBROKER_PORT = 50051
TASKBROKER_HEALTH_SERVICE = "sentry_protos.taskbroker.v1.ConsumerService"  # taskbroker src/lib.rs SERVICE_NAME


# Upstream's .env timings: 30s/1m30s/10, start 10s; the heartbeat file's: 60s/10s/3, start 600s.
def _check(probe, interval=30, timeout=90, retries=10, start=10) -> spec.HealthCheck:
    return spec.HealthCheck(probe, interval, timeout, retries, start)


def _sh(command: str) -> spec.CommandProbe:
    return spec.CommandProbe(("sh", "-c", command))


_FILE_CHECK = ("import os, sys\ntry:\n    os.remove('/tmp/health.txt')\nexcept OSError:\n"
               "    sys.exit('no heartbeat written to /tmp/health.txt since the last check')")
HEALTH: Mapping[str, spec.HealthCheck] = {
    # Consumers rewrite the file while they make progress; the check removes it each time.
    "file": _check(spec.CommandProbe(("python3", "-c", _FILE_CHECK)), 60, 10, 3, 600),
    "web": _check(spec.HttpProbe("/_health/", 9000, command=(
        "python3", "-c", "import sys, urllib.request as r; "
        "sys.exit(b'ok' not in r.urlopen('http://127.0.0.1:9000/_health/', timeout=10).read())")), start=300),
    "memcached": _check(_sh("echo stats | nc 127.0.0.1 11211")),
    "redis": _check(_sh("valkey-cli ping | grep PONG")),
    "postgres": _check(_sh("pg_isready -U postgres")),
    "pgbouncer": _check(_sh('psql -U "$DB_USER" -p 5432 -h 127.0.0.1 -tA -c "select 1;" -d "$DB_NAME" >/dev/null')),
    "kafka": _check(_sh("nc -z localhost 9092"), 10, 10, 30),
    "clickhouse": spec.HealthCheck(spec.HttpProbe("/", 8123, command=(
        "sh", "-c", "HTTP_PROXY='' http_proxy='' wget -nv -t1 --spider 'http://localhost:8123/' || exit 1")),
        10, 10, 30, 0),
    # Upstream asks http://seaweedfs:<port>; a Kubernetes Service exposes only 8333, so ask locally.
    "seaweedfs": _check(_sh("http_proxy='' wget -q -O- http://127.0.0.1:9340/healthz "
                            "http://127.0.0.1:9333/cluster/healthz http://127.0.0.1:8333/healthz || exit 1"),
                        30, 20, 5, 60),
    "snuba-api": _check(spec.HttpProbe("/health", 1218, command=("python3", FILES["snuba-api-healthcheck-py"]))),
    "symbolicator": _check(spec.CommandProbe(
        ("/bin/symbolicator", "healthcheck", "-c", FILES["symbolicator-config-yml"]))),
    # Upstream's `curl http://localhost`, on the port the unprivileged image listens on.
    "nginx": _check(spec.CommandProbe(("/usr/bin/curl", f"http://localhost:{EDGE_PORT}"))),
    # getsentry/relay relay-server/src/endpoints/mod.rs: /api/relay/healthcheck/{live,ready}/ on its
    # listener (no internal_port configured); `ready` also needs Relay authenticated with Sentry,
    # so it gates traffic (nginx reaches Relay through its Service) while `live` decides restarts.
    # The image is distroless: Docker runs the binary's own `relay healthcheck` (relay#5044/#5213,
    # live mode; upstream dropped its Docker check, self-hosted#4304, over `ready` failures that
    # were downstream problems). Timings: the sentry-kubernetes chart's relay probes (10s/5 tries).
    "relay": spec.HealthCheck(
        spec.HttpProbe(RELAY_HEALTH.format("ready"), RELAY_PORT),
        interval_seconds=10, timeout_seconds=5, retries=5, start_period_seconds=60,
        liveness=spec.HttpProbe(RELAY_HEALTH.format("live"), RELAY_PORT, command=(
            "/bin/relay", "--config", RELAY_CONFIG_DIR, "healthcheck", "--mode", "live"))),
    # getsentry/taskbroker src/main.rs serves grpc.health.v1.Health (tonic-health) beside its API;
    # the service below goes NOT_SERVING when the upkeep loop stalls (taskbroker#469), and health
    # calls skip the shared-secret check (src/grpc/auth_middleware.rs). Its debian-slim image has
    # no gRPC client: Docker can only see the port open, through bash's /dev/tcp.
    "taskbroker": spec.HealthCheck(
        spec.GrpcProbe(TASKBROKER_PORT, TASKBROKER_HEALTH_SERVICE, command=(
            "/bin/bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{TASKBROKER_PORT}")),
        interval_seconds=10, timeout_seconds=5, retries=6, start_period_seconds=60),
    "vroom": _check(spec.HttpProbe("/health", 8085, command=(
        "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8085 && "
        "printf 'GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && grep -q OK <&3"))),
}
