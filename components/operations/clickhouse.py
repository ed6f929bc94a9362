"""ClickHouse's backups as spec objects, beside the Postgres ones (describe.py).

ClickHouse backs itself up: `BACKUP DATABASE ... TO Disk('backups', '<name>.tar')` makes the
server write a tar archive on its disk `backups`, a directory on the backups volume (a config.d
file the app renders declares the disk and allows backups to it). The tasks here only send
statements with the clickhouse-client of the deployed ClickHouse image, wait, verify the archive,
record the row counts the drill expects back, and write the set that pairs an archive with the
Postgres dump of the same run. They run as the server's uid, so files the server writes and files
they write are one owner's. Scripts: scripts/clickhouse_*.sh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

from components.operations import files
from components.operations.describe import (
    BACKUP_DIR,
    BACKUPS_VOLUME,
    DAILY_MAX_AGE_HOURS,
    DRILL_MAX_AGE_DAYS,
    PASS_THROUGH,
    scheduled_health,
)
from components.operations.settings import BackupSettings
from components.spec import ConfigFile, Mount, Resources, ScheduledTask, Scratch, Task

# The clickhouse user of altinity/clickhouse-server (Altinity/ClickHouse docker/server/
# Dockerfile.ubuntu: `groupadd -r clickhouse --gid=101`, `useradd ... --uid=101`); the image's
# entrypoint runs the server as it and chowns every configured disk path to it.
CLICKHOUSE_UID = 101
DISK = "backups"
NATIVE_PORT = 9000
# What the archives, their checksums and row counts, and the sets are called (off-site patterns).
ARCHIVE_PATTERNS = ("clickhouse-*.tar", "clickhouse-*.tar.sha256", "clickhouse-*.tar.tables")

# clickhouse-client is the server's multi-call binary: its start-up (every function, format and
# aggregate registered) is ClickHouse's static initialisation, measured here at 52 MB anonymous
# memory with ClickHouse 26.9 embedded in chdb (RssAnon after import; the 175 MB of mapped code
# is page cache the kernel reclaims under the limit). The statements themselves run on the server.
# Not measured with clickhouse-client itself (no ClickHouse binary here): 128 MB leaves it room.
# Requests: the 52 MB measured, rounded up, and a twentieth of a core (it waits on the server).
DEFAULT_RESOURCES: Mapping[str, Resources] = {
    "clickhouse-backup": Resources(memory_mb=128, cpu=0.2, memory_request_mb=64, cpu_request=0.05),
    "clickhouse-drill": Resources(memory_mb=128, cpu=0.2, memory_request_mb=64, cpu_request=0.05),
    "clickhouse-pre-upgrade-backup": Resources(memory_mb=128, cpu=0.2, memory_request_mb=64, cpu_request=0.05),
}

SCRIPTS = ("backup_lib.sh", "clickhouse_common.sh", "clickhouse_backup.sh", "clickhouse_drill.sh", "clickhouse_pre_upgrade.sh",
           "clickhouse_restore.sh")


@dataclass(frozen=True)
class ProtectedClickHouse:
    """The ClickHouse server whose database the tasks back up."""

    version: str  # the deployed app version: a change triggers the pre-upgrade backup
    image: str  # the deployed ClickHouse image: its clickhouse-client matches the server
    password: pulumi.Input[str]  # the `default` user's (secret)
    host: str = "clickhouse"
    database: str = "default"  # Snuba's CLICKHOUSE_DATABASE
    # The database the Postgres dumps are named after, to pair with; None: Postgres is external.
    pair_postgres: Optional[str] = "postgres"
    set_name: str = "sentry"
    # The install steps that must have run first (those creating its tables).
    after: tuple[str, ...] = ()
    resources: Mapping[str, Resources] = field(default_factory=lambda: dict(DEFAULT_RESOURCES))


def server_mount() -> Mount:
    """The backups volume in the ClickHouse server's container, where its disk `backups` is."""
    return Mount(BACKUPS_VOLUME, BACKUP_DIR)


def config_files() -> tuple[ConfigFile, ...]:
    return tuple(files.script_file(name) for name in SCRIPTS)


def _tool(ch: ProtectedClickHouse, name: str, script: str, env: Mapping[str, str], **kwargs) -> dict:
    """What every task sending statements from the ClickHouse image has in common. The image's
    entrypoint is bypassed: it would start a server, and it turns CLICKHOUSE_PASSWORD into a new
    user's password; here that variable is only the client's."""
    return dict(
        name=name,
        image=ch.image,
        resources=ch.resources[name],
        entrypoint=PASS_THROUGH,
        command=("sh", f"{files.OPS_DIR}/{script}"),
        env={
            "CLICKHOUSE_HOST": ch.host, "CLICKHOUSE_PORT": str(NATIVE_PORT), "CLICKHOUSE_DATABASE": ch.database,
            "CLICKHOUSE_DISK": DISK, "BACKUP_DIR": BACKUP_DIR, "SET_NAME": ch.set_name, "APP_VERSION": ch.version,
            # clickhouse-client looks for a config and history under HOME.
            "HOME": "/tmp",
            **({"PAIR_POSTGRES": ch.pair_postgres} if ch.pair_postgres else {}),
            **env,
        },
        secret_env={"CLICKHOUSE_PASSWORD": pulumi.Output.secret(ch.password)},
        files=files.script_mounts("backup_lib.sh", "clickhouse_common.sh", script, "health.sh"),
        mounts=(Mount(BACKUPS_VOLUME, BACKUP_DIR),),
        scratch=(Scratch("/tmp", 16),),
        depends_on=(ch.host,),
        after=ch.after,
        connects_to=(ch.host,),
        run_as_user=CLICKHOUSE_UID,
        run_as_group=CLICKHOUSE_UID,
        read_only_root=True,
        **kwargs,
    )


def backup_task(ch: ProtectedClickHouse, backup: BackupSettings) -> ScheduledTask:
    """Daily, at the Postgres backup's time: it waits for that dump, then backs up, then writes
    the set. Healthy while the last run (set written) is at most 26 hours old."""
    return ScheduledTask(**_tool(
        ch, "clickhouse-backup", "clickhouse_backup.sh", {"RETENTION_DAYS": str(backup.retention_days)},
        schedule=backup.schedule,
        health=scheduled_health(("result", "clickhouse-backup", str(DAILY_MAX_AGE_HOURS)), interval=300),
    ))


def drill_task(ch: ProtectedClickHouse, backup: BackupSettings) -> ScheduledTask:
    """Monthly, with the Postgres drill: the newest set's archive restored as drill_<stamp> on the
    live server, checked, dropped. Memory: the restore runs in the server, within its own limit;
    disk: about the archive's size, free on the server's data disk (checked first)."""
    return ScheduledTask(**_tool(
        ch, "clickhouse-drill", "clickhouse_drill.sh", {},
        schedule=backup.drill.schedule,
        health=scheduled_health(("result", "clickhouse-drill", str(DRILL_MAX_AGE_DAYS * 24)), interval=3600),
    ))


def pre_upgrade_task(ch: ProtectedClickHouse, after: tuple[str, ...]) -> Task:
    """A verified archive before migrations when the version changes (after the Postgres one, so
    the set pairs them); reruns for other changes find the version unchanged and return at once."""
    tool = _tool(ch, "clickhouse-pre-upgrade-backup", "clickhouse_pre_upgrade.sh", {})
    tool["after"] = after
    return Task(**tool)
