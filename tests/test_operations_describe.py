"""The operations as spec objects: images, users, mounts, secrets, schedules, health, reachability,
the watchdog's two forms, its Role, and the memory the small-host profile has for them."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace

import pulumi
import pytest

from components import stores
from components.operations import alerting, describe, files
from components.operations.settings import parse_alerts, parse_backup
from components.spec import (
    PYTHON_IMAGE,
    AppSpec,
    Entrypoint,
    Port,
    Resources,
    Schedule,
    ScheduledTask,
    Service,
    Task,
)
from components.validation import Problems, Section
from tests.harness import own_event_loop

POSTGRES = "postgres:18.4"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OFFSITE = {"endpoint": "https://s3.example.com:9000", "bucket": "acme-backups", "prefix": "errors",
           "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}


def settings(backup=None, alerts=None):
    problems = Problems()
    parsed = (parse_backup(Section(backup or {}, "error-tracking:backup", problems)),
              parse_alerts(Section(alerts or {}, "error-tracking:alerts", problems)))
    assert problems.items == []
    return parsed


def protected(version="6.2.6"):
    sql, variables = describe.glitchtip_checks("Acme", ["api", "web"])
    database = stores.Database(name="glitchtip", user="glitchtip", password="pg-password")
    return describe.Protected(version=version, database=database, postgres_image=POSTGRES,
                              checks_sql=sql, check_vars=variables)


WATCHED = alerting.Watched(site="https://errors.example.com", health_url="http://web:8000/_health/",
                           database_name="glitchtip", email_url="smtp+tls://ops:mail-pw@mail.example.com:587",
                           email_from="errors@example.com")


@pytest.fixture(autouse=True)
def event_loop():
    """Outputs (the secrets) belong to the event loop they were made on: one per test."""
    with own_event_loop() as loop:
        yield loop


def in_loop(build):
    """What `build` returns, and each of its secret_env values with whether it is secret."""
    async def run():
        result = build()
        secrets = {}
        for workload in result if isinstance(result, tuple) else (result,):
            for name, value in getattr(workload, "secret_env", {}).items():
                output = pulumi.Output.from_input(value)
                secrets[(workload.name, name)] = (await output.future(), await output.is_secret())
        return result, secrets
    return asyncio.get_event_loop().run_until_complete(run())


# --- postgres-side tasks ---------------------------------------------------------------------

def test_the_backup_runs_the_deployed_postgres_image_as_its_user_with_the_password_secret():
    backup, _ = settings({"hour": 2, "minute": 30, "retentionDays": 14})
    task, secrets = in_loop(lambda: describe.backup_task(protected(), backup))
    assert isinstance(task, ScheduledTask) and task.image == POSTGRES
    assert (task.run_as_user, task.run_as_group, task.read_only_root) == (999, 999, True)
    assert task.schedule == Schedule(hour=2, minute=30)
    assert task.env["RETENTION_DAYS"] == "14" and task.env["PGDATABASE"] == "glitchtip"
    assert "PGPASSWORD" not in task.env and secrets[("backup", "PGPASSWORD")] == ("pg-password", True)
    assert task.command == ("sh", "/ops/backup.sh")
    assert task.health.probe.command == ("sh", "/ops/health.sh", "backup", "glitchtip", "26")
    assert {m.path for m in task.files} == {"/ops/backup_lib.sh", "/ops/common.sh", "/ops/backup.sh", "/ops/health.sh"}
    assert [(m.volume, m.path, m.read_only) for m in task.mounts] == [("backups", "/backups", False)]
    assert task.depends_on == ("postgres",) and task.connects_to == ("postgres",)


def test_the_drill_is_monthly_and_carries_the_sanity_checks_and_the_bootstrapped_names():
    backup, _ = settings({"drill": {"dayOfMonth": 15, "hour": 6}})
    task = describe.drill_task(protected(), backup)
    assert task.schedule.cron == "0 6 15 * *"
    assert task.env["CHECKS_SQL"] in {m.path for m in task.files}
    assert task.env["CHECK_ORGANIZATION"] == "Acme" and task.env["CHECK_PROJECTS"] == '["api", "web"]'
    assert task.health.probe.command[-3:] == ("result", "drill", str(35 * 24))


def test_names_set_as_secrets_reach_the_drill_as_secrets_and_are_left_out_of_its_messages():
    backup, _ = settings({})
    app = replace(protected(), secret_checks=True)
    task, secrets = in_loop(lambda: describe.drill_task(app, backup))
    assert not [k for k in task.env if k.startswith("CHECK_")] and task.env["CHECKS_REDACT"] == "1"
    assert secrets[("drill", "CHECK_ORGANIZATION")] == ("Acme", True)
    assert "CHECKS_REDACT" not in describe.drill_task(protected(), backup).env


def test_the_pre_upgrade_backup_is_a_one_shot_task_keyed_on_the_version():
    task = describe.pre_upgrade_task(protected("6.3.0"))
    assert isinstance(task, Task) and task.name == "pre-upgrade-backup"
    assert task.env["APP_VERSION"] == "6.3.0" and task.command == ("sh", "/ops/pre_upgrade.sh")
    assert task != describe.pre_upgrade_task(protected("6.2.6"))  # a new version is a new run


def test_offsite_runs_pinned_rclone_with_the_keys_as_secrets_and_reaches_only_object_storage():
    backup, _ = settings({"offsite": OFFSITE})
    task, secrets = in_loop(lambda: describe.offsite_task(protected(), backup))
    assert task.image == describe.RCLONE_IMAGE and ":" in task.image and not task.image.endswith(":latest")
    assert secrets[("offsite", "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY")] == (OFFSITE["secretAccessKey"], True)
    assert secrets[("offsite", "RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID")][1]
    assert OFFSITE["secretAccessKey"] not in str(task.env) and OFFSITE["accessKeyId"] not in str(task.env)
    assert task.env["RCLONE_CONFIG_OFFSITE_ENDPOINT"] == OFFSITE["endpoint"]
    assert task.env["OFFSITE_BUCKET"] == "acme-backups" and task.env["OFFSITE_PREFIX"] == "errors"
    assert [(e.name, e.ports) for e in task.egress] == [("object-storage", (9000,))]
    assert task.connects_to == () and task.schedule.cron == "0 4 * * *"
    assert describe.offsite_task(protected(), settings()[0]) is None


def test_the_pass_through_entrypoint_runs_a_command_both_ways_platforms_start_it():
    # Kubernetes: ENTRYPOINT + the command as arguments. Docker's scheduled loop: ENTRYPOINT +
    # ("sh", "-c", loop, name, *command). Either way the command must run as given.
    direct = subprocess.run([*describe.PASS_THROUGH, "sh", "-c", "echo direct $0", "x"], capture_output=True, text=True)
    looped = subprocess.run([*describe.PASS_THROUGH, "sh", "-c", '"$@"', "offsite", "sh", "-c", "echo looped"],
                            capture_output=True, text=True)
    assert direct.stdout == "direct x\n" and looped.stdout == "looped\n"


def test_mounted_files_are_the_tested_scripts():
    backup, _ = settings({"offsite": OFFSITE})
    config = {f.name: f.content for f in describe.config_files(protected(), backup)}
    for task in (describe.backup_task(protected(), backup), describe.drill_task(protected(), backup)):
        for mount in task.files:
            name = mount.path.rsplit("/", 1)[1]
            expected = protected().checks_sql if name == "checks.sql" else files.script_text(name)
            assert config[mount.file] == expected


# --- a whole description validates -------------------------------------------------------------

def _app(scheduled, tasks, services, volumes, config_files):
    database = stores.Database(name="glitchtip", user="glitchtip", password="pw")
    postgres, data, password = stores.postgres_service(POSTGRES, database, Resources(128, 0.5), 30)
    web = Service(name="web", image="glitchtip/glitchtip:6.2.6", resources=Resources(256, 0.5),
                  ports=(Port(8000),), max_replicas=None)
    worker = Service(name="worker", image="glitchtip/glitchtip:6.2.6", resources=Resources(192, 0.3),
                     mounts=(alerting.heartbeat_mount(read_only=False),))
    return AppSpec(
        name="glitchtip", version="6.2.6", services=(postgres, web, worker, *services),
        tasks=tuple(tasks), volumes=(data, *volumes), entrypoint=Entrypoint("web", 8000, "/_health/"),
        scheduled=tuple(scheduled), files=(password, *config_files),
    )


def test_everything_together_is_a_valid_description_for_docker():
    backup, alerts = settings({"offsite": OFFSITE}, {"telegram": {"botToken": TOKEN, "chatId": 42},
                                                     "email": {"to": "ops@example.com"}})
    app = protected()
    watchdog, state = alerting.watchdog_service(WATCHED, backup, alerts)
    spec = _app(
        scheduled=[describe.backup_task(app, backup), describe.drill_task(app, backup),
                   describe.offsite_task(app, backup)],
        tasks=[describe.pre_upgrade_task(app), alerting.alert_test_task(WATCHED, alerts),
               describe.volume_owners_task(POSTGRES, {"backups": 999, "watchdog": 999, "heartbeat": 5000})],
        services=[watchdog],
        volumes=[describe.backups_volume(), state, alerting.heartbeat_volume()],
        config_files=[*describe.config_files(app, backup), *alerting.config_files()],
    )
    spec.validate()


def test_the_small_host_budget_for_the_operations_containers():
    # 768 MB for every long-running container of the 2 GB profile: web 256, worker 192,
    # postgres 128 and valkey 32 leave 160 for backup, drill, off-site copy and watchdog,
    # which Docker runs as long-lived containers.
    backup, alerts = settings({"offsite": OFFSITE}, {"webhook": {"url": "https://hooks.example.com/x"}})
    app = protected()
    long_running = [describe.backup_task(app, backup), describe.drill_task(app, backup),
                    describe.offsite_task(app, backup), alerting.watchdog_service(WATCHED, backup, alerts)[0]]
    assert sum(w.resources.memory_mb for w in long_running) <= 160


# --- the watchdog ------------------------------------------------------------------------------

def test_the_docker_watchdog_reads_volumes_read_only_and_keeps_its_state_on_its_own():
    backup, alerts = settings({"offsite": OFFSITE}, {"telegram": {"botToken": TOKEN, "chatId": 42},
                                                     "email": {"to": ["ops@example.com"]}})
    (service, volume), secrets = in_loop(lambda: alerting.watchdog_service(WATCHED, backup, alerts))
    mounts = {m.volume: (m.path, m.read_only) for m in service.mounts}
    assert mounts == {"watchdog": ("/state", False), "heartbeat": ("/run/heartbeat", True),
                      "backups": ("/backups", True)}
    assert service.env["WATCHDOG_HEARTBEAT_FILE"] == alerting.HEARTBEAT_FILE
    assert service.env["WATCHDOG_HEALTH_URL"] == "http://web:8000/_health/"
    assert {"WATCHDOG_DRILL_MAX_AGE_DAYS", "WATCHDOG_OFFSITE_MAX_AGE_HOURS"} <= set(service.env)
    assert secrets[("watchdog", "ALERT_TELEGRAM_BOT_TOKEN")] == (TOKEN, True)
    assert secrets[("watchdog", "ALERT_EMAIL_URL")][1]
    assert TOKEN not in str(service.env) and "mail-pw" not in str(service.env)
    assert service.connects_to == ("web",)
    assert {e.name: e.ports for e in service.egress} == {"alerts": (443,), "mail": (587,)}
    assert service.image == PYTHON_IMAGE and service.read_only_root and volume.name == "watchdog"


def test_the_kubernetes_watchdog_follows_the_cronjobs_and_needs_only_these_rules():
    backup, alerts = settings({"offsite": OFFSITE}, {"webhook": {"url": "https://hooks.example.com/x"}})
    task = alerting.watchdog_scheduled(WATCHED, backup, alerts, Schedule())
    assert task.env["WATCHDOG_MODE"] == "kubernetes" and task.command[-1] == "once"
    # failAfter within failWindow, and how often it runs (how it tells the run before it saved).
    assert (task.env["WATCHDOG_FAIL_AFTER"], task.env["WATCHDOG_FAIL_WINDOW"]) == ("3", "5")
    assert task.env["WATCHDOG_INTERVAL_SECONDS"] == "300"
    assert task.env["WATCHDOG_DRILL_CRONJOB"] == "drill" and task.env["WATCHDOG_DRILL_MAX_AGE_HOURS"] == "840"
    assert ("kubernetes-api", (443, 6443)) in [(e.name, e.ports) for e in task.egress]
    assert not [m for m in task.mounts if m.volume == "backups"]
    assert alerting.rbac_rules(WATCHED, backup, alerts) == [
        {"api_groups": [""], "resources": ["configmaps"], "resource_names": ["watchdog-state"], "verbs": ["get", "patch"]},
        {"api_groups": ["apps"], "resources": ["deployments"], "resource_names": ["worker"], "verbs": ["get"]},
        {"api_groups": ["batch"], "resources": ["cronjobs"], "resource_names": ["backup", "drill", "offsite"],
         "verbs": ["get"]},
    ]


def test_the_alert_test_reruns_when_a_target_changes_but_not_for_other_settings():
    _, alerts = settings(alerts={"telegram": {"botToken": TOKEN, "chatId": 42}})
    first = alerting.alert_test_task(WATCHED, alerts)
    other_token = replace(alerts, telegram=replace(alerts.telegram, bot_token=TOKEN[:-1] + "X"))
    slower = replace(alerts, interval_seconds=300)
    revision = first.env["ALERT_TARGETS_REVISION"]
    assert alerting.alert_test_task(WATCHED, other_token).env["ALERT_TARGETS_REVISION"] != revision
    assert alerting.alert_test_task(WATCHED, slower).env["ALERT_TARGETS_REVISION"] == revision
    hooked = replace(alerts, webhook_url="https://hooks.example.com/services/T0/B0/one")
    rehooked = replace(alerts, webhook_url="https://hooks.example.com/services/T0/B0/two")
    assert alerting.alert_test_task(WATCHED, hooked).env["ALERT_TARGETS_REVISION"] != \
        alerting.alert_test_task(WATCHED, rehooked).env["ALERT_TARGETS_REVISION"]
    # The email password is not hashed into a readable value (a weak one could be guessed from it).
    other_password = replace(WATCHED, email_url="smtp+tls://ops:other-pw@mail.example.com:587")
    emailed = replace(alerts, email_to=("ops@example.com",))
    assert alerting.alert_test_task(WATCHED, emailed).env["ALERT_TARGETS_REVISION"] == \
        alerting.alert_test_task(other_password, emailed).env["ALERT_TARGETS_REVISION"]
    assert first.command == ("python", "-m", "watchdog", "test")
    assert alerting.alert_test_task(WATCHED, settings()[1]) is None


@pytest.mark.parametrize("disabled", [{"enabled": False}, {"drill": {"enabled": False}}])
def test_watchdog_checks_follow_what_is_deployed(disabled):
    backup, alerts = settings(disabled, {"webhook": {"url": "https://hooks.example.com/x"}})
    service, _ = alerting.watchdog_service(WATCHED, backup, alerts)
    assert "WATCHDOG_DRILL_MAX_AGE_DAYS" not in service.env
    assert ("WATCHDOG_BACKUP_DIR" in service.env) == backup.enabled
