"""The image each of upstream's services runs, and the user it runs as (getsentry/self-hosted 26.8.0).

Data only: catalog.py names a service's image by key (its shape's, or `Entry.image`);
services.py resolves `{version}` and the operator's node-store image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

@dataclass(frozen=True)
class Image:
    """An image and the user it runs as. `root` images start as root and drop privileges
    themselves (gosu/su-exec in their entrypoints); `capabilities` is what that needs."""

    reference: str  # `{version}` is the Sentry release
    uid: Optional[int] = None
    gid: Optional[int] = None
    root: bool = False
    capabilities: tuple[str, ...] = ()


# The bundled mail relay: upstream's image (registry.gitlab.com/egos-tech/smtp) is untagged and
# starts exim as root; devture/exim-relay is a maintained Alpine exim relay built to run as its
# `exim` user (uid 100, gid 101) and to listen on 8025 (devture/exim-relay@4.99.1-r0-2: Dockerfile
# `USER exim`, `EXPOSE 8025`, exim.conf `daemon_smtp_ports = 8025`; README: runs as 100:101).
# Its newest release tag, pinned; it writes only its spool (/var/spool/exim), logs to stdout.
SMTP_IMAGE = "docker.io/devture/exim-relay:4.99.1-r0-2"
SMTP_UID, SMTP_GID = 100, 101
SMTP_PORT = 8025
# Every non-root image names its uid and gid as numbers: Kubernetes refuses runAsNonRoot for an
# image whose USER is a name ("cannot verify user is non-root") unless runAsUser is given, and an
# image whose USER is root (or unset) would not start at all. Distroless `nonroot` is 65532:65532.
NONROOT = 65532
IMAGES = {
    # getsentry/sentry self-hosted/Dockerfile: `groupadd -r sentry --gid 999 && useradd ... --uid 999`.
    "sentry": Image("ghcr.io/getsentry/sentry:{version}", uid=999, gid=999),
    # getsentry/snuba@26.8.0:Dockerfile: `groupadd -r snuba --gid 1000`, `USER snuba`.
    "snuba": Image("ghcr.io/getsentry/snuba:{version}", uid=1000, gid=1000),
    # getsentry/relay Dockerfile.release (read at 0374299, not tag-exact): `FROM gcr.io/distroless/
    # cc-debian13:nonroot`, files `--chown=nonroot:nonroot`; getsentry/relay#6117 (reviewed July
    # 2026) moved the base to a Docker hardened `static` image with the same nonroot user. No
    # entrypoint script: nothing starts as root or drops privileges.
    "relay": Image("ghcr.io/getsentry/relay:{version}", uid=NONROOT, gid=NONROOT),
    # getsentry/symbolicator@26.8.0:Dockerfile: `FROM gcr.io/distroless/cc-debian12:nonroot`,
    # /etc/symbolicator and /data copied `--chown=nonroot:nonroot`.
    "symbolicator": Image("ghcr.io/getsentry/symbolicator:{version}", uid=NONROOT, gid=NONROOT),
    # getsentry/taskbroker@26.7.2:Dockerfile (unchanged up to 8a31fc9, 2026-08-07): `groupadd
    # taskbroker --gid 1000 && useradd --gid taskbroker --uid 1000 taskbroker` but no USER line, so
    # the image runs as root; the broker writes only its SQLite file in /opt/sqlite (a volume).
    "taskbroker": Image("ghcr.io/getsentry/taskbroker:{version}", uid=1000, gid=1000),
    # getsentry/vroom@26.7.1:Dockerfile (unchanged since 2025-06): `groupadd --gid 1000 vroom &&
    # useradd -g vroom --uid 1000 vroom`, `USER vroom`.
    "vroom": Image("ghcr.io/getsentry/vroom:{version}", uid=1000, gid=1000),
    # getsentry/uptime-checker@26.8.0:Dockerfile: `addgroup -S app --gid 1000 && adduser -S app -G
    # app --uid 1000`, `USER app`.
    "uptime-checker": Image("ghcr.io/getsentry/uptime-checker:{version}", uid=1000, gid=1000),
    # getsentry/launchpad Dockerfile (read at 7863870, not tag-exact): `groupadd --gid 1000 app &&
    # useradd --uid 1000 --gid app`, `USER app`.
    "launchpad": Image("ghcr.io/getsentry/launchpad:{version}", uid=1000, gid=1000),
    # Third-party images at the versions getsentry/self-hosted@26.8.0:docker-compose.yml pins. Each
    # runs as its own user from the start; their entrypoints support that (README "Who runs as
    # root" lists the sources), and fsGroup makes fresh volumes theirs.
    "smtp": Image(SMTP_IMAGE, uid=SMTP_UID, gid=SMTP_GID),
    "memcached": Image("memcached:1.6.45-alpine", uid=11211, gid=11211),  # USER memcache
    # The valkey user (uid 999) reads the secret redis.conf; started as root, the entrypoint drops to it.
    "redis": Image("valkey/valkey:8.1.9-alpine", uid=999, gid=999),
    # docker-library/postgres docker-entrypoint.sh: started as non-root it skips its chown and gosu,
    # creates PGDATA (a subdirectory of the volume, environment.py) and chmods it 0700 on every start.
    "postgres": Image("postgres:14.23-bookworm", uid=999, gid=999),
    "pgbouncer": Image("edoburu/pgbouncer:v1.25.2-p0", uid=70, gid=70),  # USER postgres (alpine)
    # confluentinc/common-docker base/Dockerfile.ubi9: `useradd ... appuser` (the first uid and
    # group of the UBI image, 1000), `USER appuser`.
    "kafka": Image("confluentinc/cp-kafka:7.6.6", uid=1000, gid=1000),
    # ClickHouse's docker/server/entrypoint.sh: non-root, it runs as the caller's uid:gid
    # (`clickhouse su` to the same ids needs no privilege) and skips its chown. 101 is the image's
    # clickhouse user, so it reads its config files (secret ones: group-readable through fsGroup).
    "clickhouse": Image("altinity/clickhouse-server:25.3.6.10034.altinitystable", uid=101, gid=101),
    # SeaweedFS's image sets no USER and `weed` (started directly, catalog) writes only -dir=/data.
    "seaweedfs": Image("chrislusf/seaweedfs:4.40_large_disk@sha256:"
                       "d07aa1dae03c687e0737b86130ded1b18474211a09e85d737fbe5508b8805139", uid=1000, gid=1000),
    # Upstream runs nginx:1.31.3-alpine as root (`user nginx;` workers, port 80). nginx's own
    # unprivileged build of the same release (nginx/docker-nginx-unprivileged, mainline 1.31.3,
    # tag `<version>-alpine`, curl included like the official alpine image): `USER 101`, the nginx
    # user and group 101 as upstream's, /var/cache/nginx owned by it; it listens on 8080
    # (files/nginx.EDGE_PORT), so it needs no capability at all.
    "nginx": Image("nginxinc/nginx-unprivileged:1.31.3-alpine", uid=101, gid=101),
}

