"""Sentry's operations through the real program on both platforms: the nightly Postgres dump and
ClickHouse backup (one set), the monthly drills, off-site copies, the backups before an upgrade
and the watchdog; the scripts themselves run in test_sentry_operations_clickhouse.py and
test_sentry_operations_postgres.py."""

import xml.etree.ElementTree as ElementTree

import pytest

from components.operations import describe
from tests.harness import deploy, env_of
from tests.secret_values import plain_strings
from tests.k8s_helpers import SCHEMA_VERSIONS, strict_problem

BOT_TOKEN = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
STORAGE_SECRET = "c2VjcmV0LWtleS1leGFtcGxl"
HEX32 = ("0123456789abcdef" * 2)[:32]  # what the mocks generate for every 32-character password
OPERATIONS = {
    "app": "sentry",
    "backup": {"offsite": {"endpoint": "https://s3.example.com", "bucket": "backups", "accessKeyId": "AKIAEXAMPLE",
                           "secretAccessKey": STORAGE_SECRET}},
    "alerts": {"telegram": {"botToken": BOT_TOKEN, "chatId": "-100200"}, "email": {"to": "ops@example.com"}},
}
EXTERNAL_POSTGRES = {"host": "db.internal", "password": "PgPw-1"}
EXTERNAL_CLICKHOUSE = {"host": "ch.internal", "password": "ChPw-1"}


@pytest.fixture(scope="module")
def docker():
    return deploy(OPERATIONS, secret_keys=("backup", "alerts"))


@pytest.fixture(scope="module")
def kubernetes():
    return deploy({**OPERATIONS, "platform": "kubernetes", "sentry": {"internalNetworks": ["10.1.0.0/16"]},
                   "kubernetes": {"ingress": {"controllerNamespace": "ingress-nginx"}}},
                  secret_keys=("backup", "alerts"))


def container(deployment, name):
    return deployment.containers()[f"sentry-{name}"]


def loop(deployment, name) -> str:
    """The shell loop Docker runs a scheduled task in (its schedule is in it)."""
    return container(deployment, name).inputs["command"][2]


# --- Docker ------------------------------------------------------------------------------------

def test_postgres_and_clickhouse_are_backed_up_at_the_same_time_and_drilled_monthly(docker):
    for name in ("backup", "clickhouse-backup", "offsite"):
        assert name in {n[len("sentry-"):] for n in docker.containers()}
    assert '[ "$now" = "03:00" ]' in loop(docker, "backup") and '[ "$now" = "03:00" ]' in loop(docker, "clickhouse-backup")
    for drill in ("drill", "clickhouse-drill"):
        assert '[ "$now" = "05:00" ] && [ "$(date -u +%d)" = "01" ]' in loop(docker, drill)
    # The ClickHouse half waits for the Postgres dump named after this database, and writes the set.
    ch = env_of(container(docker, "clickhouse-backup"))
    assert ch["PAIR_POSTGRES"] == env_of(container(docker, "backup"))["PGDATABASE"] == "postgres"
    assert ch["SET_NAME"] == "sentry" and env_of(container(docker, "drill"))["SET_NAME"] == "sentry"
    assert container(docker, "clickhouse-backup").inputs["command"][-2:] == ["sh", "/ops/clickhouse_backup.sh"]
    # The drill checks Sentry's tables and the bootstrapped organization and projects.
    drill = container(docker, "drill")
    checks = {u["file"]: u["content"] for u in drill.inputs["uploads"]}[env_of(drill)["CHECKS_SQL"]]
    assert checks == describe.sentry_checks("Acme", [])[0]
    assert env_of(drill)["CHECK_ORGANIZATION"] == "Acme" and env_of(drill)["CHECK_PROJECTS"] == '["api", "web"]'


def test_the_backups_run_in_the_deployed_images_and_reach_the_stores_directly(docker):
    assert container(docker, "backup").inputs["image"] == container(docker, "postgres").inputs["image"]
    assert container(docker, "clickhouse-backup").inputs["image"] == container(docker, "clickhouse").inputs["image"]
    assert env_of(container(docker, "backup"))["PGHOST"] == "postgres"  # not through pgbouncer
    assert env_of(container(docker, "backup"))["MAINTENANCE_DATABASE"] == "template1"
    assert env_of(container(docker, "clickhouse-backup"))["CLICKHOUSE_HOST"] == "clickhouse"
    # The image's entrypoint would start a server and turn CLICKHOUSE_PASSWORD into a new user.
    assert container(docker, "clickhouse-backup").inputs["entrypoints"][:3] == ["/bin/sh", "-c", 'exec "$@"']


def test_passwords_keys_and_tokens_reach_the_containers_only_as_secrets(docker):
    for name in ("backup", "clickhouse-backup", "clickhouse-drill", "clickhouse-pre-upgrade-backup", "offsite"):
        assert container(docker, name).secret("envs"), name
    assert env_of(container(docker, "clickhouse-backup"))["CLICKHOUSE_PASSWORD"] == HEX32
    assert env_of(container(docker, "backup"))["PGPASSWORD"] == HEX32
    for secret in (HEX32, BOT_TOKEN, STORAGE_SECRET):
        assert not [d.name for d in docker.declared if any(secret in s for s in plain_strings(d.raw))], secret


def test_the_migrations_wait_for_both_pre_upgrade_backups(docker):
    postgres, clickhouse = container(docker, "pre-upgrade-backup"), container(docker, "clickhouse-pre-upgrade-backup")
    assert postgres.urn in clickhouse.dependencies
    for step in ("snuba-bootstrap", "sentry-upgrade"):
        assert clickhouse.urn in container(docker, step).dependencies, step
    assert env_of(clickhouse)["APP_VERSION"] == env_of(postgres)["APP_VERSION"] == "26.8.0"


def test_clickhouse_writes_its_archives_where_the_tasks_find_them(docker):
    server = container(docker, "clickhouse")
    mounts = {v["containerPath"]: v["volumeName"] for v in server.inputs["volumes"]}
    task = container(docker, "clickhouse-backup")
    task_mounts = {v["containerPath"]: v["volumeName"] for v in task.inputs["volumes"]}
    directory = env_of(task)["BACKUP_DIR"]
    assert mounts[directory] == task_mounts[directory] == "sentry-backups"
    config = {u["file"]: u["content"] for u in server.inputs["uploads"]}["/etc/clickhouse-server/config.d/backups.xml"]
    root = ElementTree.fromstring(config)
    disk = root.find("storage_configuration/disks/" + env_of(task)["CLICKHOUSE_DISK"])
    assert disk.findtext("type") == "local" and disk.findtext("path").rstrip("/") == directory
    assert root.findtext("backups/allowed_disk") == env_of(task)["CLICKHOUSE_DISK"]
    # A fresh volume is root's: it is handed to ClickHouse's uid, which the tasks run as too.
    owner = container(docker, "volume-owner-backups")
    assert owner.inputs["command"] == ["chown", "101:101", "/volume"]


def test_the_offsite_copy_sends_the_archives_and_the_sets_last(docker):
    env = env_of(container(docker, "offsite"))
    assert env["OFFSITE_INCLUDE"].split() == ["clickhouse-*.tar", "clickhouse-*.tar.sha256", "clickhouse-*.tar.tables"]
    assert env["OFFSITE_LAST"] == "sentry-*.set" and env["BACKUP_NAME"] == "postgres"


def test_the_watchdog_checks_sentry_through_nginx_and_follows_both_halves(docker):
    env = env_of(container(docker, "watchdog"))
    assert env["WATCHDOG_HEALTH_URL"] == "http://nginx:8080/_health/"
    # ... and the daily `sentry cleanup`, by the status its loop records on its own volume.
    assert env["WATCHDOG_RESULTS"] == "clickhouse-backup:26,clickhouse-drill:840,sentry-cleanup:36:/var/lib/sentry-cleanup"
    assert env["WATCHDOG_BACKUP_NAME"] == "postgres" and "WATCHDOG_HEARTBEAT_FILE" not in env
    # alerts.email without sentry.mail: through the bundled relay.
    assert env["ALERT_EMAIL_URL"] == "smtp://smtp:8025"  # the bundled relay's unprivileged port


def test_external_stores_are_their_operators_to_back_up():
    only_clickhouse = deploy({"app": "sentry", "sentry": {"external": {"postgres": EXTERNAL_POSTGRES}}},
                             secret_keys=("sentry",)).containers()
    assert not {"sentry-backup", "sentry-drill", "sentry-pre-upgrade-backup"} & set(only_clickhouse)
    assert "PAIR_POSTGRES" not in env_of(only_clickhouse["sentry-clickhouse-backup"])
    only_postgres = deploy({"app": "sentry", "sentry": {"external": {"clickhouse": EXTERNAL_CLICKHOUSE}}},
                           secret_keys=("sentry",)).containers()
    assert {"sentry-backup", "sentry-drill"} <= set(only_postgres)
    assert not [n for n in only_postgres if "clickhouse" in n]
    assert "SET_NAME" not in env_of(only_postgres["sentry-drill"])


def test_backups_can_be_turned_off():
    containers = deploy({"app": "sentry", "backup": {"enabled": False}}).containers()
    assert not [n for n in containers if "backup" in n or "drill" in n]
    assert "/backups" not in {v["containerPath"] for v in containers["sentry-clickhouse"].inputs["volumes"]}


# --- Kubernetes ----------------------------------------------------------------------------------

def pod(declared):
    spec = declared.inputs["spec"]
    spec = spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec
    return spec["template"]["spec"]


OPERATIONS_PARTS = ("backup", "drill", "offsite", "watchdog", "alert-test", "clickhouse")


def test_every_object_of_the_operations_is_valid_kubernetes(kubernetes):
    def ours(d):
        labels = d.inputs.get("metadata", {}).get("labels", {})
        return any(part in f"{d.object_name} {labels.get('app.kubernetes.io/component', '')}" for part in OPERATIONS_PARTS)

    checked = [d for d in kubernetes.k8s() if ours(d)]
    assert {"CronJob", "Job", "StatefulSet", "PersistentVolumeClaim", "Role", "NetworkPolicy"} <= {d.kind for d in checked}
    for version in SCHEMA_VERSIONS:
        assert [problem for d in checked if (problem := strict_problem(d.manifest(), version))] == []


def test_the_cronjobs_run_the_halves_together_and_the_drills_monthly(kubernetes):
    schedules = {c.object_name: c.inputs["spec"]["schedule"] for c in kubernetes.of_kind("CronJob")}
    # the object store's buckets go off-site with the dumps (tests/test_sentry_offsite_objects.py)
    assert schedules == {"backup": "0 3 * * *", "clickhouse-backup": "0 3 * * *", "offsite": "0 4 * * *",
                         "offsite-objects": "0 4 * * *", "drill": "0 5 1 * *", "clickhouse-drill": "0 5 1 * *",
                         "watchdog": "*/5 * * * *", "sentry-cleanup": "0 0 * * *"}


def test_the_watchdog_follows_every_backup_cronjob_and_the_cleanup_and_nothing_else(kubernetes):
    (role,) = [r for r in kubernetes.of_kind("Role") if r.object_name == "watchdog-api"]
    rules = {(tuple(r["resources"]), tuple(r["resourceNames"])): r["verbs"] for r in role.inputs["rules"]}
    assert rules == {(("configmaps",), ("watchdog-state",)): ["get", "patch"],
                     (("cronjobs",), ("backup", "clickhouse-backup", "clickhouse-drill", "drill", "offsite",
                                      "sentry-cleanup")): ["get"]}


def test_alert_mail_goes_through_the_bundled_relay_and_nowhere_else_on_its_port(kubernetes):
    def peers_on(policy: str, port: int) -> list:
        egress = kubernetes.one("NetworkPolicy", policy).inputs["spec"]["egress"]
        return [to for rule in egress if {"protocol": "TCP", "port": port} in rule["ports"] for to in rule["to"]]

    for sender in ("watchdog", "alert-test"):
        (peer,) = peers_on(f"{sender}-traffic", 8025)
        assert peer["podSelector"]["matchExpressions"][0]["values"] == ["smtp"], sender
    (allowed,) = kubernetes.one("NetworkPolicy", "smtp-traffic").inputs["spec"]["ingress"]
    assert {"watchdog", "alert-test"} <= set(allowed["from"][0]["podSelector"]["matchExpressions"][0]["values"])


def test_clickhouse_and_the_backup_jobs_share_the_backups_claim_on_clickhouses_node(kubernetes):
    # ReadWriteOnce serves every pod of one node: the jobs are placed beside the server, so the
    # claim needs no ReadWriteMany class (none is configured here).
    claim = kubernetes.one("PersistentVolumeClaim", "backups")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteOnce"]
    # a ReadWriteMany claim an earlier release made stays as it is (the fields are immutable)
    assert claim.options["ignore_changes"] == ["spec.accessModes", "spec.storageClassName"]
    server = pod(kubernetes.one("StatefulSet", "clickhouse"))
    beside = {"labelSelector": {"matchLabels": kubernetes.one("StatefulSet", "clickhouse").inputs["spec"][
        "selector"]["matchLabels"]}, "topologyKey": "kubernetes.io/hostname"}
    mounting = [d for d in kubernetes.of_kind("CronJob") + kubernetes.of_kind("Job")
                if {"name": "backups", "persistentVolumeClaim": {"claimName": "backups"}} in pod(d).get("volumes", [])]
    assert {d.object_name.split("-")[0] for d in mounting} >= {"backup", "drill", "offsite", "clickhouse",
                                                               "pre"}
    for d in mounting:
        assert pod(d)["affinity"] == {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [beside]}}, \
            d.object_name
    assert "affinity" not in server and "affinity" not in pod(kubernetes.one("Deployment", "web"))
    job = pod(kubernetes.one("CronJob", "clickhouse-backup"))
    assert job["securityContext"]["fsGroup"] == 101 and job["containers"][0]["securityContext"]["runAsUser"] == 101


def test_no_secret_reaches_kubernetes_state_in_clear(kubernetes):
    for secret in (HEX32, BOT_TOKEN, STORAGE_SECRET):
        assert not [d.name for d in kubernetes.declared if any(secret in s for s in plain_strings(d.raw))], secret


def test_the_object_stores_off_site_copy_gets_its_keys_from_a_secret_only(kubernetes):
    # tests/test_sentry_offsite_objects.py: what it copies; here, where its keys live on a cluster
    plain = kubernetes.one("ConfigMap", "offsite-objects-env").inputs["data"]
    secret = kubernetes.one("Secret", "offsite-objects-env")
    assert plain["RCLONE_CONFIG_STORE_ENDPOINT"] == "http://seaweedfs:8333" and plain["OBJECT_BUCKETS"] == "files"
    assert {"RCLONE_CONFIG_STORE_ACCESS_KEY_ID", "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY",
            "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY"} <= set(secret.inputs["stringData"])
    assert secret.secret("stringData") and not [k for k in plain if "ACCESS_KEY" in k]
    (rule,) = [r for r in kubernetes.one("NetworkPolicy", "seaweedfs-traffic").inputs["spec"]["ingress"]]
    assert "offsite-objects" in rule["from"][0]["podSelector"]["matchExpressions"][0]["values"]
