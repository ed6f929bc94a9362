"""PostgreSQL and Valkey (Redis), described once for every app that runs its own.

Both get a generated password (upstream samples use trust auth and no password), read from a
secret file rather than a command line or a plain variable, and settings sized from their
memory limit, so that the limit is what the process respects instead of the kernel's OOM killer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi

from components.spec import (
    CommandProbe,
    ConfigFile,
    FileMount,
    HealthCheck,
    Mount,
    Port,
    Resources,
    Scratch,
    Service,
    Volume,
)

POSTGRES_PORT = 5432
VALKEY_PORT = 6379
# The official images run their server as this uid/gid (the `postgres` and `valkey` users).
STORE_UID = 999
# What one Postgres connection costs at rest (backend process, catalog caches), in MB; the
# Postgres documentation puts an idle backend at a few MB and work_mem comes on top per sort.
MB_PER_CONNECTION = 2
# Connections Postgres keeps for superusers (its default superuser_reserved_connections).
RESERVED_CONNECTIONS = 3


@dataclass(frozen=True)
class Database:
    """A database the app's own Postgres service holds; `password` is a secret Output."""

    name: str
    user: str
    password: pulumi.Input[str]
    host: str = "postgres"

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(
            pulumi.Output.concat(
                "postgres://", self.user, ":", self.password, "@", self.host, ":", str(POSTGRES_PORT), "/", self.name
            )
        )


def shared_buffers_mb(resources: Resources) -> int:
    return max(16, resources.memory_mb // 4)


def max_connections(needed: int) -> int:
    """Room for every process's pool plus the superuser reserve, rounded up to tens."""
    return int(math.ceil((needed + RESERVED_CONNECTIONS) / 10.0) * 10)


def postgres_memory_needed_mb(connections: int, resources: Resources) -> int:
    """What Postgres needs at least: shared buffers plus every connection at rest, with 10% slack."""
    return int(math.ceil((shared_buffers_mb(resources) + connections * MB_PER_CONNECTION) / 0.9))


def postgres_service(
    image: str, database: Database, resources: Resources, connections: int
) -> tuple[Service, Volume, ConfigFile]:
    """Postgres with a generated password (no trust auth), read by the image from a file."""
    password = ConfigFile("postgres-password", pulumi.Output.secret(database.password), secret=True)
    service = Service(
        name="postgres",
        image=image,
        command=(
            "postgres",
            "-c", f"shared_buffers={shared_buffers_mb(resources)}MB",
            "-c", f"max_connections={connections}",
        ),
        env={
            "POSTGRES_USER": database.user,
            "POSTGRES_DB": database.name,
            "POSTGRES_PASSWORD_FILE": "/run/secrets/postgres-password",
        },
        files=(FileMount("postgres-password", "/run/secrets/postgres-password"),),
        # Postgres 18 images keep their data below /var/lib/postgresql (versioned subdirectory).
        mounts=(Mount("postgres-data", "/var/lib/postgresql"),),
        scratch=(Scratch("/var/run/postgresql", 1), Scratch("/tmp", 16)),
        ports=(Port(POSTGRES_PORT, "postgres"),),
        health=HealthCheck(
            CommandProbe(("pg_isready", "-U", database.user, "-d", database.name)),
            interval_seconds=5,
            retries=12,
            start_period_seconds=20,
        ),
        resources=resources,
        stateful=True,
        run_as_user=STORE_UID,
        run_as_group=STORE_UID,
        read_only_root=True,
        stop_grace_seconds=60,
    )
    return service, Volume("postgres-data", size_gb=20), password


def valkey_config(password: str, maxmemory_mb: int) -> str:
    """valkey.conf: a password (never on the command line), AOF persistence, bounded memory.

    Only keys with a TTL (cache entries) may be evicted, never queued tasks or sessions.
    `maxmemory_mb` 0 is Valkey's own "no bound" (then the container's limit is the only one).
    """
    return "\n".join([
        f"requirepass {password}",
        "appendonly yes",
        "dir /data",
        f"maxmemory {maxmemory_mb}mb" if maxmemory_mb else "maxmemory 0",
        "maxmemory-policy volatile-lru",
        "",
    ])


def valkey_maxmemory_mb(limit_mb: int) -> int:
    """Half the container limit: an AOF rewrite or background save forks the server, and
    copy-on-write may double its footprint while it runs."""
    return max(8, limit_mb // 2)


def valkey_service(
    image: str, resources: Resources, password: pulumi.Input[str], name: str = "valkey"
) -> tuple[Service, Volume, ConfigFile]:
    """Valkey with append-only persistence, so queued tasks survive a restart.

    maxmemory is half the container limit: an AOF rewrite forks the server, and copy-on-write
    may double its footprint while it runs; Valkey then refuses writes instead of being killed.
    """
    maxmemory_mb = valkey_maxmemory_mb(resources.memory_mb)
    config = ConfigFile(
        f"{name}-conf",
        pulumi.Output.secret(pulumi.Output.from_input(password).apply(lambda p: valkey_config(p, maxmemory_mb))),
        secret=True,
    )
    service = Service(
        name=name,
        image=image,
        command=("valkey-server", "/etc/valkey/valkey.conf"),
        files=(FileMount(config.name, "/etc/valkey/valkey.conf"),),
        # valkey-cli reads the password from these variables (VALKEYCLI_AUTH; older builds
        # REDISCLI_AUTH), so the health check authenticates without a password in its argv.
        secret_env={"VALKEYCLI_AUTH": password, "REDISCLI_AUTH": password},
        mounts=(Mount(f"{name}-data", "/data"),),
        ports=(Port(VALKEY_PORT, "valkey"),),
        health=HealthCheck(
            CommandProbe(("sh", "-c", "valkey-cli ping | grep -q PONG")), interval_seconds=5, retries=12
        ),
        resources=resources,
        stateful=True,
        run_as_user=STORE_UID,
        run_as_group=STORE_UID,
        read_only_root=True,
    )
    return service, Volume(f"{name}-data", size_gb=1), config


def valkey_url(password: pulumi.Input[str], host: str = "valkey", db: int = 0) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.concat("redis://:", password, "@", host, f":{VALKEY_PORT}/{db}"))
