"""GlitchTip's operations: daily verified backups, the monthly restore drill, off-site copies, a
backup before every upgrade, and the watchdog that alerts (components.operations does the work;
this module says what GlitchTip's are: its database, its checks, its worker, its mail)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from components import stores
from components.apps.glitchtip.settings import GlitchTipSettings
from components.apps.site import Site
from components.operations import alerting, describe

@dataclass
class Operations(describe.Additions):
    """What the operations add to GlitchTip's description."""

    # Where the worker writes its heartbeat when the watchdog reads it (a shared volume), or None.
    heartbeat: Optional[str] = None
    # The task the migration must wait for (the backup before an upgrade), or None.
    migrate_after: Optional[str] = None


def operations(site: Site, settings: GlitchTipSettings, database: Optional[stores.Database],
               web_port: int, health_path: str) -> Operations:
    """Backups only protect the database this stack runs (an external one has its own)."""
    ops = Operations()
    backup = site.backup
    if database is not None and backup is not None and backup.enabled:
        protected = describe.Protected(
            settings.version, database, settings.postgres_image,
            *describe.glitchtip_checks(site.organization, [p.name for p in site.projects]),
            secret_checks=site.is_secret("organization") or site.is_secret("projects"),
        )
        ops.scheduled.append(describe.backup_task(protected, backup))
        if backup.drill.enabled:
            ops.scheduled.append(describe.drill_task(protected, backup))
        offsite = describe.offsite_task(protected, backup)
        if offsite is not None:
            ops.scheduled.append(offsite)
        pre_upgrade = describe.pre_upgrade_task(protected)
        ops.tasks.append(pre_upgrade)
        ops.migrate_after = pre_upgrade.name
        ops.volumes.append(describe.backups_volume())
        ops.files.extend(describe.config_files(protected, backup))
    alerts = site.alerts
    if alerts is not None and alerts.any_target:
        _watchdog(ops, site, settings, database is not None and backup is not None and backup.enabled,
                  f"http://web:{web_port}{health_path}")
    return ops


def _watchdog(ops: Operations, site: Site, settings: GlitchTipSettings, backups: bool, health_url: str) -> None:
    alerts, backup = site.alerts, site.backup if backups else None
    worker = None if settings.mode == "all-in-one" else "worker"
    watched = alerting.Watched(
        site=site.url,
        health_url=health_url,
        worker=worker,
        database_name="glitchtip" if backups else None,
        email_url=settings.email_url if settings.email_configured else None,
        email_from=settings.from_email or f"glitchtip@{site.host}",
        secret=site.is_secret("url") or settings.secret,
    )
    ops.add(alerting.watchdog_additions(watched, backup, alerts))
    if worker:
        ops.heartbeat = alerting.HEARTBEAT_FILE
        ops.volumes.append(dataclasses.replace(alerting.heartbeat_volume(), local=True, owner=5000))
