"""Sentry's operations: the bundled Postgres and ClickHouse backed up together each night as one
consistent set, drilled monthly, copied off-site, backed up before every upgrade, and watched.

components.operations does the work; this module says what Sentry's are. Order of a night: the
Postgres dump, then the ClickHouse backup (its task waits for that dump), then the set naming both
(`sentry-<stamp>.set`). Before an upgrade: the Postgres dump, then the ClickHouse backup, then
Snuba's and Sentry's migrations. Stores under `sentry.external` are backed up by their operators:
nothing here touches them. The node store is in Postgres by default, so the dump holds event
bodies; an S3 node store (`sentry.nodestoreImage`) keeps them in the bucket, outside these sets.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from dataclasses import dataclass
from typing import Optional, Sequence

from components import stores
from components.apps.sentry.files.clickhouse import render_clickhouse_backup_disk
from components.apps.site import Site
from components.operations import alerting, clickhouse, describe, files
from components.spec import ConfigFile, FileMount, Service, Task

# nginx answers /_health/ by asking web (files/nginx.py): the whole path a user's request takes.
HEALTH_URL = "http://nginx:80/_health/"
DATABASE = "postgres"  # Sentry's database, user and host in the bundled Postgres (files: Postgres())
SET_NAME = "sentry"
# The install steps that change what the backups hold: they wait for the pre-upgrade backups.
MIGRATIONS = ("snuba-bootstrap", "sentry-upgrade")
BACKUP_DISK_FILE = "clickhouse-backups-xml"
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
        _backups(ops, site, settings, postgres, server, secrets)
    if site.alerts is not None and site.alerts.any_target:
        _watchdog(ops, site, settings, deployed, postgres is not None and backups, server is not None and backups)
    return ops


def _backups(ops: Operations, site: Site, settings, postgres: Optional[Service], server: Optional[Service],
             secrets) -> None:
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
    ops.files.extend(files.script_file(name) for name in ("backup_lib.sh", "health.sh"))
    # Several lists mount the same script: one file each.
    ops.files[:] = list({f.name: f for f in ops.files}.values())
    ops.volumes.append(describe.backups_volume(owner=clickhouse.CLICKHOUSE_UID, shared=server is not None))


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
    )
    ops.add(alerting.watchdog_additions(watched, backup, alerts, _through_relay if bundled_smtp else None))


def _email_url(settings, deployed: dict) -> tuple[Optional[str], bool]:
    """The SMTP URL alerts.email is sent through: sentry.mail's server, else the bundled relay."""
    mail = settings.mail
    if mail is None:
        return ("smtp://smtp:25", True) if "smtp" in deployed else (None, False)
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
