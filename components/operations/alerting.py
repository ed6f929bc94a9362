"""The watchdog and its alert test as spec objects, in the form each platform can run.

Docker: a long-running Service that reads shared volumes (backups, the worker's heartbeat) and
the web health URL, with no Docker socket. Kubernetes: a ScheduledTask (CronJob) asking the API
server with a read-only ServiceAccount (`rbac_rules`), keeping its state in one ConfigMap.
Both run components/operations/watchdog, mounted as files into the official python image.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

import pulumi

from components.operations import files
from components.operations.describe import BACKUP_DIR, BACKUPS_VOLUME, DRILL_MAX_AGE_DAYS, Additions
from components.operations.settings import AlertSettings, BackupSettings
from components.secrets import sealed
from components.spec import (
    PYTHON_IMAGE,
    CommandProbe,
    ConfigFile,
    Egress,
    HealthCheck,
    Mount,
    Resources,
    Schedule,
    ScheduledTask,
    Scratch,
    Service,
    Task,
    Volume,
)

WATCHDOG_UID = 999  # the backup tools' uid: one owner for the volumes the operations write
STATE_VOLUME = "watchdog"
STATE_DIR = "/state"
# The worker's heartbeat (vtasks `--health-check-file`) on a small shared volume the watchdog reads.
HEARTBEAT_VOLUME = "heartbeat"
HEARTBEAT_DIR = "/run/heartbeat"
HEARTBEAT_FILE = f"{HEARTBEAT_DIR}/worker"
STATE_CONFIGMAP = "watchdog-state"
# The Kubernetes watchdog runs this often (a CronJob; Docker's loops every alerts.intervalSeconds).
WATCHDOG_EVERY_MINUTES = 5
# 21 MB RSS measured here for one pass with every check and target (python 3.11, /usr/bin/time -v);
# requested: that, rounded up, and a twentieth of a core (it waits on HTTP and the API server).
RESOURCES = Resources(memory_mb=32, cpu=0.1, memory_request_mb=24, cpu_request=0.05)


@dataclass(frozen=True)
class RecordedJob:
    """An app's scheduled job the watchdog follows whatever the backups: on Docker by the
    `.last-<name>-ok/-failed` files it writes in `directory` on its own `volume` (mounted
    read-only into the watchdog), on Kubernetes by its CronJob `name`."""

    name: str
    max_age_hours: int
    volume: str
    directory: str


@dataclass(frozen=True)
class Watched:
    """What the watchdog watches, as the app names it."""

    site: str  # the public URL: names the deployment in every message
    health_url: str  # through the web service, e.g. http://web:8000/_health/
    web_service: str = "web"
    worker: Optional[str] = "worker"  # the worker service (None: all-in-one, no separate worker)
    database_name: Optional[str] = None  # dumps are named after it (None: no backups)
    email_url: Optional[str] = None  # the app's SMTP URL (secret), for alerts.email
    email_from: Optional[str] = None
    # More scheduled tasks to follow, daily (backup freshness) or monthly (drill age): on Docker
    # by the `.last-<name>-ok/-failed` files they write beside the backups, on Kubernetes by
    # their CronJobs (Sentry: clickhouse-backup, clickhouse-drill).
    daily_jobs: tuple[str, ...] = ()
    monthly_jobs: tuple[str, ...] = ()
    recorded_jobs: tuple[RecordedJob, ...] = ()
    # Some of the above came from settings set as secrets (the url, the app's sender address).
    secret: bool = False


def heartbeat_volume() -> Volume:
    return Volume(HEARTBEAT_VOLUME, size_gb=1, shared=True, data=False)


def heartbeat_mount(read_only: bool) -> Mount:
    """The worker mounts it writable and runs `--health-check-file HEARTBEAT_FILE`; the watchdog
    mounts it read-only."""
    return Mount(HEARTBEAT_VOLUME, HEARTBEAT_DIR, read_only=read_only)


def config_files() -> tuple[ConfigFile, ...]:
    return files.watchdog_files()


def _targets(watched: Watched, alerts: AlertSettings) -> tuple[dict, dict, tuple[Egress, ...]]:
    """Alert targets as plain env, secret env, and the egress they need."""
    env: dict[str, str] = {"WATCHDOG_SITE": watched.site}
    secret_env: dict[str, pulumi.Input[str]] = {}
    web_ports: set[int] = set()
    egress: list[Egress] = []
    if alerts.telegram:
        env["ALERT_TELEGRAM_CHAT_ID"] = alerts.telegram.chat_id
        secret_env["ALERT_TELEGRAM_BOT_TOKEN"] = pulumi.Output.secret(alerts.telegram.bot_token)
        web_ports.add(443)
    if alerts.webhook_url:
        secret_env["ALERT_WEBHOOK_URL"] = pulumi.Output.secret(alerts.webhook_url)
        web_ports.add(_port(alerts.webhook_url))
    if alerts.email_to and watched.email_url:
        env["ALERT_EMAIL_TO"] = ",".join(alerts.email_to)
        env["ALERT_EMAIL_FROM"] = watched.email_from or f"watchdog@{urllib.parse.urlsplit(watched.site).hostname}"
        secret_env["ALERT_EMAIL_URL"] = pulumi.Output.secret(watched.email_url)
        egress.append(Egress("mail", (urllib.parse.urlsplit(watched.email_url).port or 25,)))
    if web_ports:
        egress.insert(0, Egress("alerts", tuple(sorted(web_ports))))
    return env, secret_env, tuple(egress)


def _common(watched: Watched, alerts: AlertSettings, mode: str) -> dict:
    env, secret_env, egress = _targets(watched, alerts)
    env.update({
        "WATCHDOG_MODE": mode,
        "WATCHDOG_HEALTH_URL": watched.health_url,
        "WATCHDOG_FAIL_AFTER": str(alerts.fail_after),
        "WATCHDOG_FAIL_WINDOW": str(alerts.fail_window),
        "PYTHONPATH": files.WATCHDOG_PATH,
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return dict(
        image=PYTHON_IMAGE,
        resources=RESOURCES,
        env=env,
        secret_env=secret_env,
        files=files.watchdog_mounts(),
        scratch=(Scratch("/tmp", 4),),
        connects_to=(watched.web_service,),
        egress=egress,
        run_as_user=WATCHDOG_UID,
        run_as_group=WATCHDOG_UID,
        read_only_root=True,
    )


def watchdog_service(
    watched: Watched, backup: Optional[BackupSettings], alerts: AlertSettings
) -> tuple[Service, Volume]:
    """The Docker form: checks every `alerts.intervalSeconds`, state on its own volume."""
    common = _common(watched, alerts, "docker")
    env = {
        **common.pop("env"),
        "WATCHDOG_INTERVAL_SECONDS": str(alerts.interval_seconds),
        "WATCHDOG_STATE_FILE": f"{STATE_DIR}/watchdog.json",
        "WATCHDOG_DISK_FREE_PERCENT": str(alerts.disk_free_percent),
    }
    mounts = [Mount(STATE_VOLUME, STATE_DIR)]
    results: list[str] = []
    if watched.worker:
        env["WATCHDOG_HEARTBEAT_FILE"] = HEARTBEAT_FILE
        env["WATCHDOG_HEARTBEAT_MAX_AGE_SECONDS"] = str(alerts.heartbeat_max_age_seconds)
        mounts.append(heartbeat_mount(read_only=True))
    if backup and backup.enabled and watched.database_name:
        env.update({
            "WATCHDOG_BACKUP_DIR": BACKUP_DIR,
            "WATCHDOG_BACKUP_NAME": watched.database_name,
            "WATCHDOG_BACKUP_MAX_AGE_HOURS": str(alerts.backup_max_age_hours),
        })
        if backup.drill.enabled:
            env["WATCHDOG_DRILL_MAX_AGE_DAYS"] = str(DRILL_MAX_AGE_DAYS)
        if backup.offsite:
            env["WATCHDOG_OFFSITE_MAX_AGE_HOURS"] = str(alerts.backup_max_age_hours)
        results.extend(f"{name}:{hours}" for name, hours in _jobs(watched, backup, alerts).items())
        mounts.append(Mount(BACKUPS_VOLUME, BACKUP_DIR, read_only=True))
    for job in watched.recorded_jobs:
        results.append(f"{job.name}:{job.max_age_hours}:{job.directory}")
        mounts.append(Mount(job.volume, job.directory, read_only=True))
    if results:
        env["WATCHDOG_RESULTS"] = ",".join(results)
    service = Service(
        name="watchdog",
        command=("python", "-m", "watchdog", "run"),
        env=env,
        mounts=tuple(mounts),
        health=HealthCheck(
            CommandProbe(("python", "-m", "watchdog", "alive")),
            interval_seconds=max(30, alerts.interval_seconds), retries=3, start_period_seconds=120,
        ),
        **common,
    )
    return service, Volume(STATE_VOLUME, size_gb=1)


def watchdog_scheduled(
    watched: Watched, backup: Optional[BackupSettings], alerts: AlertSettings, schedule: Schedule
) -> ScheduledTask:
    """The Kubernetes form: one pass per run of `schedule` (every few minutes), state in the
    ConfigMap STATE_CONFIGMAP; the platform gives it a ServiceAccount with `rbac_rules`."""
    common = _common(watched, alerts, "kubernetes")
    env = {**common.pop("env"), "WATCHDOG_STATE_CONFIGMAP": STATE_CONFIGMAP,
           # How often it runs: how it tells whether the run before it could save its state.
           "WATCHDOG_INTERVAL_SECONDS": str(WATCHDOG_EVERY_MINUTES * 60)}
    if watched.worker:
        env["WATCHDOG_WORKER_DEPLOYMENT"] = watched.worker
    for check, max_age in followed_tasks(backup, alerts, watched).items():
        variable = check.upper().replace("-", "_")
        env[f"WATCHDOG_{variable}_CRONJOB"] = check
        env[f"WATCHDOG_{variable}_MAX_AGE_HOURS"] = str(max_age)
    common["egress"] = (*common["egress"], Egress("kubernetes-api", (443, 6443)))
    return ScheduledTask(
        name="watchdog",
        command=("python", "-m", "watchdog", "once"),
        env=env,
        schedule=schedule,
        **common,
    )


def followed_tasks(backup: Optional[BackupSettings], alerts: AlertSettings,
                   watched: Optional[Watched] = None) -> dict[str, int]:
    """The scheduled tasks the Kubernetes watchdog follows, with the age their last success may reach."""
    recorded = {job.name: job.max_age_hours for job in watched.recorded_jobs} if watched else {}
    if not (backup and backup.enabled):
        return recorded
    result: dict[str, int] = {}
    # The database's own backup and drill exist only where the app runs its database (Sentry with
    # an external Postgres still backs up its ClickHouse: those are its daily and monthly jobs).
    if watched is None or watched.database_name:
        result["backup"] = alerts.backup_max_age_hours
        if backup.drill.enabled:
            result["drill"] = DRILL_MAX_AGE_DAYS * 24
    if backup.offsite:
        result["offsite"] = alerts.backup_max_age_hours
    return {**result, **_jobs(watched, backup, alerts), **recorded}


def _jobs(watched: Optional[Watched], backup: BackupSettings, alerts: AlertSettings) -> dict[str, int]:
    """The app's own further jobs (Watched.daily_jobs, monthly_jobs) with their maximum ages."""
    if watched is None:
        return {}
    result = {name: alerts.backup_max_age_hours for name in watched.daily_jobs}
    if backup.drill.enabled:
        result.update({name: DRILL_MAX_AGE_DAYS * 24 for name in watched.monthly_jobs})
    return result


def rbac_rules(watched: Watched, backup: Optional[BackupSettings], alerts: AlertSettings) -> list[dict]:
    """Everything the Kubernetes watchdog may do, in the pod's namespace: read, by name, the
    worker Deployment and the CronJobs it follows; read and patch its one state ConfigMap."""
    rules = [{"api_groups": [""], "resources": ["configmaps"],
              "resource_names": [STATE_CONFIGMAP], "verbs": ["get", "patch"]}]
    if watched.worker:
        rules.append({"api_groups": ["apps"], "resources": ["deployments"],
                      "resource_names": [watched.worker], "verbs": ["get"]})
    cronjobs = sorted(followed_tasks(backup, alerts, watched))
    if cronjobs:
        rules.append({"api_groups": ["batch"], "resources": ["cronjobs"],
                      "resource_names": cronjobs, "verbs": ["get"]})
    return rules


W = TypeVar("W", Service, ScheduledTask, Task)


def watchdog_additions(watched: Watched, backup: Optional[BackupSettings], alerts: AlertSettings,
                       adjust: Optional[Callable[[W], W]] = None) -> Additions:
    """The watchdog as an app adds it: a service on Docker, a CronJob on Kubernetes that follows the
    worker and the operations' CronJobs, its state and files, and the alert test; `adjust` is the
    app's last word on each workload (Sentry's reach its bundled mail relay)."""

    def finish(workload: W) -> W:
        workload = adjust(workload) if adjust else workload
        # Chat ids, addresses, the site's URL: with any of them set as a secret, every value goes as one.
        return sealed(workload) if alerts.secret or watched.secret else workload

    service, state = watchdog_service(watched, backup, alerts)
    scheduled = finish(watchdog_scheduled(watched, backup, alerts, Schedule(every_minutes=WATCHDOG_EVERY_MINUTES)))
    watches = tuple(n for n in (watched.worker, *followed_tasks(backup, alerts, watched)) if n)
    test = alert_test_task(watched, alerts)
    return Additions(
        services=[dataclasses.replace(finish(service), platforms=("docker",))],
        scheduled=[dataclasses.replace(
            scheduled, platforms=("kubernetes",), watches=watches, state_object=STATE_CONFIGMAP,
            # The platform opens the way to its API for what the workload watches.
            egress=tuple(e for e in scheduled.egress if e.name != "kubernetes-api"),
        )],
        tasks=[finish(test)] if test is not None else [],
        volumes=[state],
        files=list(config_files()),
    )


def alert_test_task(watched: Watched, alerts: AlertSettings) -> Optional[Task]:
    """Sends a test message to every target; reruns when a target changes, so a wrong token or
    chat id fails `pulumi up` at once instead of on the first incident."""
    if not alerts.any_target:
        return None
    common = _common(watched, alerts, "docker")
    common.pop("connects_to")
    env = {**common.pop("env"), "ALERT_TARGETS_REVISION": _revision(watched, alerts)}
    return Task(name="alert-test", command=("python", "-m", "watchdog", "test"), env=env, **common)


def _revision(watched: Watched, alerts: AlertSettings) -> str:
    """Changes when a target changes, so platforms that compare only plain values and the names
    of secrets (Kubernetes Job names) rerun the test too. Bot tokens and webhook URLs are long
    random strings; of the email URL only the parts that are not the password are hashed."""
    email = urllib.parse.urlsplit(watched.email_url or "")
    parts = [
        alerts.telegram.bot_token if alerts.telegram else "",
        alerts.telegram.chat_id if alerts.telegram else "",
        alerts.webhook_url or "",
        list(alerts.email_to),
        [email.scheme, email.hostname, email.port, email.username] if watched.email_url else None,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _port(url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    try:
        return parts.port or (80 if parts.scheme == "http" else 443)
    except ValueError:
        return 443
