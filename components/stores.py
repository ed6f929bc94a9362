"""PostgreSQL, Valkey and the daily database backup, described once for every app that needs them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.spec import (
    CommandProbe,
    HealthCheck,
    Mount,
    Port,
    Resources,
    ScheduledTask,
    Service,
    Volume,
)

POSTGRES_PORT = 5432
VALKEY_PORT = 6379
# The official images run their server as this uid/gid (the `postgres` and `valkey` users).
STORE_UID = 999


@dataclass(frozen=True)
class Database:
    """A database the app's own Postgres service holds; `password` is a secret Output."""

    name: str
    user: str
    password: pulumi.Input[str]

    def url(self, host: str = "postgres") -> pulumi.Output[str]:
        return pulumi.Output.secret(
            pulumi.Output.concat(
                "postgres://", self.user, ":", self.password, "@", host, ":", str(POSTGRES_PORT), "/", self.name
            )
        )


def postgres_service(image: str, database: Database, resources: Resources) -> tuple[Service, Volume]:
    """Postgres with a generated password (no trust auth) and settings sized to its memory limit."""
    shared_buffers_mb = max(16, resources.memory_mb // 4)
    service = Service(
        name="postgres",
        image=image,
        command=(
            "postgres",
            "-c", f"shared_buffers={shared_buffers_mb}MB",
            "-c", "max_connections=100",
        ),
        env={"POSTGRES_USER": database.user, "POSTGRES_DB": database.name},
        secret_env={"POSTGRES_PASSWORD": database.password},
        # Postgres 18 images keep their data below /var/lib/postgresql (versioned subdirectory).
        mounts=(Mount("postgres-data", "/var/lib/postgresql"),),
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
    )
    return service, Volume("postgres-data", size_gb=20)


def valkey_service(image: str, resources: Resources) -> tuple[Service, Volume]:
    """Valkey with append-only persistence, so queued tasks survive a restart.

    maxmemory stays below the container limit so Valkey refuses writes instead of being killed;
    only keys with a TTL (cache entries) are evicted, never queued tasks.
    """
    maxmemory_mb = max(8, resources.memory_mb * 3 // 4)
    service = Service(
        name="valkey",
        image=image,
        command=(
            "valkey-server",
            "--appendonly", "yes",
            "--maxmemory", f"{maxmemory_mb}mb",
            "--maxmemory-policy", "volatile-lru",
        ),
        mounts=(Mount("valkey-data", "/data"),),
        ports=(Port(VALKEY_PORT, "valkey"),),
        health=HealthCheck(CommandProbe(("valkey-cli", "ping")), interval_seconds=5, retries=12),
        resources=resources,
        stateful=True,
        run_as_user=STORE_UID,
        run_as_group=STORE_UID,
    )
    return service, Volume("valkey-data", size_gb=1)


BACKUP_DIR = "/backups"


def backup_script(database: Database, retention_days: int) -> str:
    """One backup: pg_dump compressed, checked with `gzip -t`, older files than retention removed."""
    prefix = f"{BACKUP_DIR}/{database.name}-"
    return "\n".join([
        "set -eu",
        'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
        f'file="{prefix}$stamp.sql.gz"',
        f'pg_dump -h postgres -U {database.user} -d {database.name} --no-owner -Z 6 -f "$file.partial"',
        'gzip -t "$file.partial"',
        'mv "$file.partial" "$file"',
        f"find {BACKUP_DIR} -name '{database.name}-*.sql.gz' -mtime +{retention_days} -delete",
        'echo "backup written: $file"',
    ])


def backup_task(
    image: str, database: Database, resources: Resources, hour: int, minute: int, retention_days: int
) -> tuple[ScheduledTask, Volume]:
    """The daily `pg_dump` of the app's database, healthy while the newest backup is under 26 hours old."""
    fresh = f"find {BACKUP_DIR} -name '{database.name}-*.sql.gz' -mmin -1560 | grep -q ."
    task = ScheduledTask(
        name="backup",
        image=image,
        command=("sh", "-c", backup_script(database, retention_days)),
        env={"PGUSER": database.user},
        secret_env={"PGPASSWORD": database.password},
        mounts=(Mount("backups", BACKUP_DIR),),
        depends_on=("postgres",),
        resources=resources,
        hour=hour,
        minute=minute,
        health=HealthCheck(CommandProbe(("sh", "-c", fresh)), interval_seconds=300, retries=1,
                           start_period_seconds=600),
        run_as_user=STORE_UID,
        run_as_group=STORE_UID,
    )
    return task, Volume("backups", size_gb=20)
