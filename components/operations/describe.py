"""Backups, the restore drill, the pre-upgrade backup and off-site copies as spec objects.

An app passes the database it runs (a components.stores.Database: name, user, secret password,
host = its Postgres service) and the parsed `backup:` settings; platforms realize the rest. The
postgres-side workloads run the deployed Postgres image, so pg_dump, pg_restore and the server
always share a major version, as the backups volume's owner (Protected.uid: by default 999, the
image's postgres user) with a read-only root. ClickHouse's counterparts are in clickhouse.py.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi

from components.operations import files
from components.stores import POSTGRES_PORT
from components.operations.settings import BackupSettings
from components.secrets import sealed
from components.spec import (
    CommandProbe,
    ConfigFile,
    Egress,
    HealthCheck,
    Mount,
    Resources,
    ScheduledTask,
    Scratch,
    Service,
    Task,
    Volume,
)

BACKUP_DIR = "/backups"
BACKUPS_VOLUME = "backups"
POSTGRES_UID = 999
# rclone's official image (ENTRYPOINT rclone, Alpine with /bin/sh); newest release, Jul 2026.
RCLONE_IMAGE = "rclone/rclone:1.75.0"
# A drill is monthly: healthy while the last good one is at most this old.
DRILL_MAX_AGE_DAYS = 35
# The daily backup's and off-site copy's health: a day plus the run's own length and slack.
DAILY_MAX_AGE_HOURS = 26

# Memory limits, measured here on a seeded database of 2,141 relations (262 MB, a 23 MB dump):
# pg_dump peaked at 18 MB RSS, pg_restore at 13 MB, psql at 12 MB (/usr/bin/time -v, PG 15);
# rclone copying a 114 MB dump to S3 (moto) at 47 MB with the flags of offsite.sh (rclone 1.60,
# GOMEMLIMIT 24 MiB, one 5 MiB chunk in flight; 81 MB with two 8 MiB chunks and no GOMEMLIMIT).
# Requests (what a scheduler reserves) are those peaks rounded up; CPU: a twentieth of a core, the
# tools wait on the database and the network far more than they compute (an assumption).
DEFAULT_RESOURCES: Mapping[str, Resources] = {
    "backup": Resources(memory_mb=32, cpu=0.2, memory_request_mb=24, cpu_request=0.05),
    "drill": Resources(memory_mb=32, cpu=0.2, memory_request_mb=24, cpu_request=0.05),
    "pre-upgrade-backup": Resources(memory_mb=32, cpu=0.2, memory_request_mb=24, cpu_request=0.05),
    "offsite": Resources(memory_mb=64, cpu=0.2, memory_request_mb=48, cpu_request=0.05),
}

# Runs a command as given whatever the image's ENTRYPOINT (rclone's is `rclone`): platforms that
# wrap a scheduled task's command in a shell loop get a shell, and the others the plain command.
PASS_THROUGH = ("/bin/sh", "-c", 'exec "$@"', "shell")


@dataclass
class Additions:
    """What an app's operations add to its description; each app's Operations extends it with how
    they change what is already there."""

    services: list[Service] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    scheduled: list[ScheduledTask] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    files: list[ConfigFile] = field(default_factory=list)

    def add(self, other: "Additions") -> None:
        for name in ("services", "tasks", "scheduled", "volumes", "files"):
            getattr(self, name).extend(getattr(other, name))


@dataclass(frozen=True)
class Protected:
    """The app whose database the operations protect."""

    version: str  # the deployed version: a change triggers the pre-upgrade backup
    database: Any  # components.stores.Database: name, user, password (secret), host
    postgres_image: str  # the deployed Postgres image
    checks_sql: str = ""  # sanity checks of a restored database (restore.sh)
    check_vars: Mapping[str, str] = field(default_factory=dict)  # CHECK_<NAME> -> psql :'name'
    # The names come from settings the operator set as secrets: they reach the drill as secrets.
    secret_checks: bool = False
    resources: Mapping[str, Resources] = field(default_factory=lambda: dict(DEFAULT_RESOURCES))
    # The uid/gid the backup tools run as: the owner of the backups volume. Sentry's is ClickHouse's
    # (its server writes its archives there too); GlitchTip's the Postgres image's own user.
    uid: int = POSTGRES_UID
    # Where statements about databases themselves connect: not the live one (Sentry's is `postgres`).
    maintenance_database: str = "postgres"
    # The backup sets (<set_name>-*.set) whose Postgres dump the drill restores; None: no sets.
    set_name: Optional[str] = None
    # More files the off-site copy sends (rclone patterns), and the sets, sent last.
    offsite_include: tuple[str, ...] = ()


def glitchtip_checks(organization: str, projects: Sequence[str]) -> tuple[str, dict[str, str]]:
    """GlitchTip's sanity checks and the names the bootstrap created, for `Protected`."""
    sql = files.script_text("glitchtip_checks.sql")
    return sql, {"ORGANIZATION": organization, "PROJECTS": json.dumps(list(projects))}


def sentry_checks(organization: str, projects: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Sentry's sanity checks and the names the bootstrap created, for `Protected`."""
    sql = files.script_text("sentry_checks.sql")
    return sql, {"ORGANIZATION": organization, "PROJECTS": json.dumps(list(projects))}


def backups_volume(size_gb: int = 20, owner: Optional[int] = None, shared: bool = False) -> Volume:
    """`owner`: the uid that writes it (a fresh Docker volume is root's); `shared` when a stateful
    service mounts it too (Sentry's ClickHouse writes its archives there)."""
    return Volume(BACKUPS_VOLUME, size_gb=size_gb, owner=owner, shared=shared)


def config_files(app: Protected, backup: BackupSettings) -> tuple[ConfigFile, ...]:
    """Every file the workloads below mount; the app adds them to its AppSpec."""
    names = ["backup_lib.sh", "common.sh", "backup.sh", "pre_upgrade.sh", "health.sh"]
    if backup.drill.enabled:
        names += ["restore.sh", "drill.sh"]
    if backup.offsite:
        names.append("offsite.sh")
    result = [files.script_file(n) for n in names]
    if backup.drill.enabled:
        result.append(files.checks_file(app.checks_sql))
    return tuple(result)


def _postgres_tool(
    app: Protected, name: str, scripts: Sequence[str], env: Mapping[str, str], extra_files=(), **kwargs
) -> dict:
    """What every workload running the backup scripts in the Postgres image has in common."""
    db = app.database
    return dict(
        name=name,
        image=app.postgres_image,
        resources=app.resources[name],
        env={
            "PGHOST": db.host, "PGPORT": str(POSTGRES_PORT), "PGUSER": db.user, "PGDATABASE": db.name,
            "BACKUP_DIR": BACKUP_DIR,
            **({} if app.maintenance_database == "postgres" else {"MAINTENANCE_DATABASE": app.maintenance_database}),
            **env,
        },
        secret_env={"PGPASSWORD": pulumi.Output.secret(db.password)},
        files=(*files.script_mounts(*scripts), *extra_files),
        mounts=(Mount(BACKUPS_VOLUME, BACKUP_DIR),),
        # sh here-documents and psql may write temporary files.
        scratch=(Scratch("/tmp", 8),),
        depends_on=(db.host,),
        connects_to=(db.host,),
        run_as_user=app.uid,
        run_as_group=app.uid,
        read_only_root=True,
        **kwargs,
    )


def backup_task(app: Protected, backup: BackupSettings) -> ScheduledTask:
    """The daily verified dump, healthy while the newest dump is at most 26 hours old."""
    return ScheduledTask(**_postgres_tool(
        app, "backup", ("backup_lib.sh", "common.sh", "backup.sh", "health.sh"),
        {"RETENTION_DAYS": str(backup.retention_days)},
        command=("sh", f"{files.OPS_DIR}/backup.sh"),
        schedule=backup.schedule,
        health=scheduled_health(("backup", app.database.name, str(DAILY_MAX_AGE_HOURS)), interval=300),
    ))


def drill_task(app: Protected, backup: BackupSettings) -> ScheduledTask:
    """The monthly restore drill, healthy while the last drill passed within 35 days.

    On a fresh install (no dump yet) it takes a dump first, so a new host is drilled at once.
    Memory: pg_restore and psql on the client; on the server, our sessions' index builds stay
    within maintenance_work_mem=16MB (PGOPTIONS in common.sh), so Postgres keeps to its limit.
    """
    checks = {f"CHECK_{k}": v for k, v in app.check_vars.items()}
    tool = _postgres_tool(
        app, "drill", ("backup_lib.sh", "common.sh", "backup.sh", "restore.sh", "drill.sh", "health.sh"),
        {
            "RETENTION_DAYS": str(backup.retention_days),
            "CHECKS_SQL": files.CHECKS_MOUNT.path,
            **({"SET_NAME": app.set_name} if app.set_name else {}),
            # Names set as secrets reach the checks as secrets, and their messages leave them out.
            **({"CHECKS_REDACT": "1"} if app.secret_checks else checks),
        },
        extra_files=(files.CHECKS_MOUNT,),
        command=("sh", f"{files.OPS_DIR}/drill.sh"),
        schedule=backup.drill.schedule,
        health=scheduled_health(("result", "drill", str(DRILL_MAX_AGE_DAYS * 24)), interval=3600),
    )
    if app.secret_checks:
        tool["secret_env"] = {**tool["secret_env"], **{k: pulumi.Output.secret(v) for k, v in checks.items()}}
    return ScheduledTask(**tool)


def pre_upgrade_task(app: Protected) -> Task:
    """A verified dump before migrations when the version changes (migrate runs `after` it).

    APP_VERSION is part of the task's description, so a version change reruns it; reruns for any
    other change find the version unchanged and return at once.
    """
    return Task(**_postgres_tool(
        app, "pre-upgrade-backup", ("backup_lib.sh", "common.sh", "pre_upgrade.sh"),
        {"APP_VERSION": app.version},
        command=("sh", f"{files.OPS_DIR}/pre_upgrade.sh"),
    ))


def offsite_task(app: Protected, backup: BackupSettings) -> Optional[ScheduledTask]:
    """Copies verified dumps to S3-compatible storage daily, an hour after the backup.

    A scheduled task rather than a long-running sidecar: rclone runs only while copying (on
    Kubernetes no pod waits in between), each run copies whatever is missing so a failed night
    is caught up by the next, and its status is a Job's (Kubernetes) or a health check (Docker).
    """
    offsite = backup.offsite
    if offsite is None:
        return None
    remote = {"TYPE": "s3", "PROVIDER": offsite.provider, "ENV_AUTH": "false"}
    if offsite.endpoint:
        remote["ENDPOINT"] = offsite.endpoint
    if offsite.region:
        remote["REGION"] = offsite.region
    env = {
        **{f"RCLONE_CONFIG_OFFSITE_{k}": v for k, v in remote.items()},
        "BACKUP_NAME": app.database.name,
        "BACKUP_DIR": BACKUP_DIR,
        "OFFSITE_BUCKET": offsite.bucket,
        "RETENTION_DAYS": str(offsite.retention_days),
        # Go's heap target: rclone's collector works harder instead of growing past the limit.
        "GOMEMLIMIT": "24MiB",
        "HOME": "/tmp",
        "XDG_CACHE_HOME": "/tmp",
    }
    if offsite.prefix:
        env["OFFSITE_PREFIX"] = offsite.prefix
    if app.offsite_include:
        env["OFFSITE_INCLUDE"] = " ".join(app.offsite_include)
    if app.set_name:
        env["OFFSITE_LAST"] = f"{app.set_name}-*.set"
    task = ScheduledTask(
        name="offsite",
        image=RCLONE_IMAGE,
        resources=app.resources["offsite"],
        entrypoint=PASS_THROUGH,
        command=("sh", f"{files.OPS_DIR}/offsite.sh"),
        env=env,
        secret_env={
            "RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID": pulumi.Output.secret(offsite.access_key_id),
            "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY": pulumi.Output.secret(offsite.secret_access_key),
        },
        files=files.script_mounts("backup_lib.sh", "offsite.sh", "health.sh"),
        mounts=(Mount(BACKUPS_VOLUME, BACKUP_DIR),),  # writes its status file beside the dumps
        scratch=(Scratch("/tmp", 8),),
        egress=(Egress("object-storage", (_port(offsite.endpoint, 443),)),),
        schedule=offsite.schedule,
        health=scheduled_health(("result", "offsite", str(DAILY_MAX_AGE_HOURS)), interval=600),
        run_as_user=app.uid,
        run_as_group=app.uid,
        read_only_root=True,
    )
    # Endpoint, bucket, prefix: with `backup` set as a secret, every value goes as one.
    return sealed(task) if backup.secret else task


def volume_owners_task(image: str, owners: Mapping[str, int]) -> Task:
    """Makes each volume's top directory writable by the uid that writes it (Docker creates an
    empty named volume owned by root when the image has nothing at the mount path; Kubernetes
    pods get the same through fsGroup). Runs as root with CHOWN only; not recursive."""
    mounts = tuple(Mount(volume, f"/volumes/{volume}") for volume in sorted(owners))
    command = " && ".join(f"chown {uid}:{uid} /volumes/{v}" for v, uid in sorted(owners.items()))
    return Task(
        name="volume-owners",
        image=image,
        resources=Resources(memory_mb=16, cpu=0.1),
        entrypoint=PASS_THROUGH,
        command=("sh", "-c", command),
        mounts=mounts,
        root=True,
        capabilities=("CHOWN",),
        read_only_root=True,
    )


def scheduled_health(args: tuple[str, ...], interval: int) -> HealthCheck:
    # retries=1 and a start period of an hour: the first run (at start, when no recent result
    # exists) may take a while on a large database.
    return HealthCheck(
        CommandProbe(("sh", f"{files.OPS_DIR}/health.sh", *args)),
        interval_seconds=interval, timeout_seconds=10, retries=1, start_period_seconds=3600,
    )


def _port(url: Optional[str], default: int) -> int:
    if not url:
        return default
    parts = urllib.parse.urlsplit(url)
    return parts.port or (80 if parts.scheme == "http" else 443)
