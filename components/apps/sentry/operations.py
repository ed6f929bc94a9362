"""Sentry's operations: the bundled Postgres and ClickHouse backed up together each night as one
consistent set, drilled monthly, copied off-site, backed up before every upgrade, and watched.

components.operations does the work; this module says what Sentry's are. Order of a night: the
Postgres dump, then the ClickHouse backup (its task waits for that dump), then the set naming both
(`sentry-<stamp>.set`). Before an upgrade: the Postgres dump, then the ClickHouse backup, then
Snuba's and Sentry's migrations. Stores under `sentry.external` are backed up by their operators:
nothing here touches them. The watchdog also follows `sentry cleanup` (its status files on Docker,
its CronJob on Kubernetes), backups or not. With the S3 node store (the default where the platform
builds Sentry's image, or `sentry.nodestoreImage`) event payloads, and where no volume is shared
uploaded files, live in SeaweedFS (or the operator's S3), outside these sets: the README says how
to keep them safe. With the Postgres node store the dump holds the payloads too.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi

from components import stores
from components.apps.sentry.catalog import CLEANUP_JOB, CLEANUP_STATUS_DIR, CLEANUP_STATUS_VOLUME
from components.apps.sentry import storage
from components.apps.sentry.files.clickhouse import render_clickhouse_backup_disk
from components.apps.sentry.files.nginx import EDGE_PORT
from components.apps.sentry.images import SMTP_PORT
from components.apps.site import Site
from components.operations import alerting, clickhouse, describe, files
from components.spec import ConfigFile, FileMount, ScheduledTask, Service, Task

# nginx answers /_health/ by asking web (files/nginx.py): the whole path a user's request takes.
HEALTH_URL = f"http://nginx:{EDGE_PORT}/_health/"
DATABASE = "postgres"  # Sentry's database, user and host in the bundled Postgres (files: Postgres())
SET_NAME = "sentry"
# The install steps that change what the backups hold: they wait for the pre-upgrade backups.
MIGRATIONS = ("snuba-bootstrap", "sentry-upgrade")
# The node store's and the file store's buckets on the bundled SeaweedFS are outside the backup
# sets; with `backup.offsite` this task copies them there too, beside the sets, with the same
# rclone image and remote (no script of the backups changes). Payloads expire there as here.
OFFSITE_OBJECTS = "offsite-objects"
OFFSITE_OBJECTS_SCRIPT = """\
set -eu
tuning="--config /dev/null --transfers 4 --checkers 4 --buffer-size 0 --s3-upload-concurrency 1 --s3-chunk-size 5M --s3-no-check-bucket"
base="offsite:$OFFSITE_BUCKET${OFFSITE_PREFIX:+/$OFFSITE_PREFIX}/sentry-objects"
for bucket in $OBJECT_BUCKETS; do
  rclone copy "store:$bucket" "$base/$bucket" $tuning --stats-one-line -v
done
for bucket in $EXPIRING_BUCKETS; do
  rclone delete "$base/$bucket" --min-age "${EXPIRY_DAYS}d" $tuning -v
done
echo "objects of $OBJECT_BUCKETS copied to $base"
"""
BACKUP_DISK_FILE = "clickhouse-backups-xml"
# `sentry cleanup` runs daily at 00:00 UTC and may take hours on a large install: a day and a half
# without a success is a missed (or failing) cleanup.
CLEANUP_MAX_AGE_HOURS = 36
BACKUP_DISK_PATH = "/etc/clickhouse-server/config.d/backups.xml"


@dataclass
class Operations(describe.Additions):
    """What the operations add to Sentry's description, and how they change what is there."""

    # The last pre-upgrade backup: the migrations run after it.
    migrations_after: Optional[str] = None
    # The ClickHouse server writes its archives on the backups volume.
    clickhouse_disk: bool = False

    def gate(self, steps: Sequence[Task]) -> tuple[Task, ...]:
        """The install steps, the migrations waiting for the backups taken before an upgrade."""
        if not self.migrations_after:
            return tuple(steps)
        return tuple(dataclasses.replace(t, after=(*t.after, self.migrations_after)) if t.name in MIGRATIONS else t
                     for t in steps)

    def mount(self, services: Sequence[Service]) -> tuple[Service, ...]:
        """The services, ClickHouse given its backup disk (the volume and the config.d file)."""
        if not self.clickhouse_disk:
            return tuple(services)
        return tuple(dataclasses.replace(
            s, mounts=(*s.mounts, clickhouse.server_mount()), files=(*s.files, FileMount(BACKUP_DISK_FILE, BACKUP_DISK_PATH)),
        ) if s.name == "clickhouse" else s for s in services)


def operations(site: Site, settings, services: Sequence[Service], secrets) -> Operations:
    """`settings`: SentrySettings; `services`: the deployed ones (their images); `secrets`:
    credentials.Secrets (the bundled stores' passwords)."""
    ops = Operations()
    deployed = {s.name: s for s in services}
    backup = site.backup
    postgres = deployed.get("postgres")
    server = deployed.get("clickhouse")
    backups = backup is not None and backup.enabled and (postgres or server) is not None
    if backups:
        _backups(ops, site, settings, postgres, server, secrets, "seaweedfs" in deployed)
    if site.alerts is not None and site.alerts.any_target:
        _watchdog(ops, site, settings, deployed, postgres is not None and backups, server is not None and backups)
    return ops


def _backups(ops: Operations, site: Site, settings, postgres: Optional[Service], server: Optional[Service],
             secrets, store_deployed: bool) -> None:
    backup = site.backup
    protected = describe.Protected(
        settings.version,
        stores.Database(name=DATABASE, user=DATABASE, password=secrets.postgres_password, host=DATABASE),
        postgres.image if postgres else "",
        *describe.sentry_checks(site.organization, [p.name for p in site.projects]),
        secret_checks=site.is_secret("organization") or site.is_secret("projects"),
        # One owner for everything on the volume: ClickHouse's server writes its archives there.
        uid=clickhouse.CLICKHOUSE_UID,
        # Sentry's live database is `postgres`: statements about databases connect elsewhere.
        maintenance_database="template1",
        set_name=SET_NAME if server else None,
        offsite_include=clickhouse.ARCHIVE_PATTERNS if server else (),
    )
    if postgres:
        ops.scheduled.append(describe.backup_task(protected, backup))
        if backup.drill.enabled:
            ops.scheduled.append(describe.drill_task(protected, backup))
        pre_upgrade = describe.pre_upgrade_task(protected)
        ops.tasks.append(pre_upgrade)
        ops.migrations_after = pre_upgrade.name
        ops.files.extend(describe.config_files(protected, backup))
    if server:
        _clickhouse(ops, settings, server, secrets, backup, paired=postgres is not None)
    offsite = describe.offsite_task(protected, backup)
    if offsite is not None:
        ops.scheduled.append(offsite)
        ops.files.append(files.script_file("offsite.sh"))
        objects = _offsite_objects(offsite, settings, secrets, store_deployed)
        if objects is not None:
            ops.scheduled.append(objects)
    ops.files.extend(files.script_file(name) for name in ("backup_lib.sh", "health.sh"))
    # Several lists mount the same script: one file each.
    ops.files[:] = list({f.name: f for f in ops.files}.values())
    volume = describe.backups_volume(owner=clickhouse.CLICKHOUSE_UID, shared=server is not None)
    # ClickHouse's server keeps it mounted: the backup jobs run on its node, one ReadWriteOnce claim.
    ops.volumes.append(dataclasses.replace(volume, holder="clickhouse") if server else volume)


def _offsite_objects(offsite: ScheduledTask, settings, secrets, store_deployed: bool) -> Optional[ScheduledTask]:
    """The bundled SeaweedFS's buckets copied to the off-site remote (the dumps' task is the model:
    same image, remote, schedule and limits); objects of expiring buckets are deleted there after
    the event retention, as the bucket's own lifecycle does here."""
    buckets = storage.buckets(settings)
    if not store_deployed or not buckets:
        return None
    remote = {k: v for k, v in offsite.env.items() if k.startswith("RCLONE_CONFIG_OFFSITE_") or
              k in ("OFFSITE_BUCKET", "OFFSITE_PREFIX", "GOMEMLIMIT", "HOME", "XDG_CACHE_HOME")}
    return dataclasses.replace(
        offsite,
        name=OFFSITE_OBJECTS,
        command=("sh", "-c", OFFSITE_OBJECTS_SCRIPT),
        env={**remote, "RCLONE_CONFIG_STORE_TYPE": "s3", "RCLONE_CONFIG_STORE_PROVIDER": "SeaweedFS",
             "RCLONE_CONFIG_STORE_ENDPOINT": "http://seaweedfs:8333", "RCLONE_CONFIG_STORE_ENV_AUTH": "false",
             "OBJECT_BUCKETS": " ".join(name for name, _ in buckets),
             "EXPIRING_BUCKETS": " ".join(name for name, expires in buckets if expires),
             "EXPIRY_DAYS": str(settings.event_retention_days)},
        secret_env={**offsite.secret_env,
                    "RCLONE_CONFIG_STORE_ACCESS_KEY_ID": pulumi.Output.secret(secrets.object_store_access_key),
                    "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY": pulumi.Output.secret(secrets.object_store_secret_key)},
        files=(), mounts=(), health=None, depends_on=("seaweedfs",), connects_to=("seaweedfs",),
    )


def _clickhouse(ops: Operations, settings, server: Service, secrets, backup, paired: bool) -> None:
    protected = clickhouse.ProtectedClickHouse(
        version=settings.version, image=server.image, password=secrets.clickhouse_password,
        pair_postgres=DATABASE if paired else None, set_name=SET_NAME,
        # Snuba's migrations create the tables; the drill expects them.
        after=("snuba-bootstrap",),
    )
    ops.scheduled.append(clickhouse.backup_task(protected, backup))
    if backup.drill.enabled:
        ops.scheduled.append(clickhouse.drill_task(protected, backup))
    pre_upgrade = clickhouse.pre_upgrade_task(protected, after=(ops.migrations_after,) if ops.migrations_after else ())
    ops.tasks.append(pre_upgrade)
    ops.migrations_after = pre_upgrade.name
    ops.files.extend(clickhouse.config_files())
    ops.files.append(ConfigFile(BACKUP_DISK_FILE, render_clickhouse_backup_disk(describe.BACKUP_DIR)))
    ops.clickhouse_disk = True


def _watchdog(ops: Operations, site: Site, settings, deployed: dict, postgres: bool, server: bool) -> None:
    alerts, backup = site.alerts, site.backup if (postgres or server) else None
    email_url, bundled_smtp = _email_url(settings, deployed)
    watched = alerting.Watched(
        site=site.url,
        health_url=HEALTH_URL,
        web_service="nginx",
        worker=None,  # Sentry's consumers check their own progress (health files), per container
        database_name=DATABASE if postgres else None,
        email_url=email_url,
        email_from=(settings.mail.from_address if settings.mail and settings.mail.from_address
                    else f"sentry@{site.host}"),
        daily_jobs=("clickhouse-backup",) if server else (),
        monthly_jobs=("clickhouse-drill",) if server else (),
        recorded_jobs=(alerting.RecordedJob(CLEANUP_JOB, CLEANUP_MAX_AGE_HOURS, CLEANUP_STATUS_VOLUME,
                                            CLEANUP_STATUS_DIR),) if CLEANUP_JOB in deployed else (),
        secret=site.is_secret("url") or settings.secret,
    )
    ops.add(alerting.watchdog_additions(watched, backup, alerts, _through_relay if bundled_smtp else None))


def _email_url(settings, deployed: dict) -> tuple[Optional[str], bool]:
    """The SMTP URL alerts.email is sent through: sentry.mail's server, else the bundled relay."""
    mail = settings.mail
    if mail is None:
        return (f"smtp://smtp:{SMTP_PORT}", True) if "smtp" in deployed else (None, False)
    scheme = "smtp+ssl" if mail.use_ssl else "smtp+tls" if mail.use_tls else "smtp"
    credentials = ""
    if mail.username:
        credentials = urllib.parse.quote(mail.username, safe="")
        if mail.password:
            credentials += ":" + urllib.parse.quote(mail.password, safe="")
        credentials += "@"
    return f"{scheme}://{credentials}{mail.host}:{mail.port}", False


def _through_relay(workload):
    """Alert mail through the bundled relay: a peer inside the app, not a destination outside it."""
    return dataclasses.replace(workload, connects_to=tuple(dict.fromkeys((*workload.connects_to, "smtp"))),
                               egress=tuple(e for e in workload.egress if e.name != "mail"))
