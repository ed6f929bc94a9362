"""GlitchTip's operations on a cluster: backups, drill and off-site copies as CronJobs, and the
watchdog as a CronJob reading exactly what it watches through a read-only service account."""

import pytest

from tests.harness import deploy
from tests.secret_values import plain_strings
from tests.k8s_helpers import SCHEMA_VERSIONS, schema_problems

BOT_TOKEN = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OPERATIONS = {
    "platform": "kubernetes",
    # web and worker share the uploads
    "kubernetes": {"sharedStorageClass": "nfs-rwx", "ingress": {"controllerNamespace": "ingress-nginx"}},
    "backup": {"offsite": {"endpoint": "https://s3.example.com", "bucket": "backups", "accessKeyId": "AKIAEXAMPLE",
                           "secretAccessKey": "c2VjcmV0LWtleS1leGFtcGxl"}},
    "alerts": {"telegram": {"botToken": BOT_TOKEN, "chatId": "-100200"}},
}


@pytest.fixture(scope="module")
def deployed():
    return deploy(OPERATIONS, secret_keys=("backup", "alerts"))


def pod(declared):
    spec = declared.inputs["spec"]
    spec = spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec
    return spec["template"]["spec"]


def test_every_operations_object_is_valid_kubernetes(deployed):
    for version in SCHEMA_VERSIONS:
        assert schema_problems({"operations": deployed}, version) == []


def test_backup_drill_offsite_and_watchdog_run_on_their_schedules(deployed):
    schedules = {c.object_name: c.inputs["spec"]["schedule"] for c in deployed.of_kind("CronJob")}
    assert schedules == {"backup": "0 3 * * *", "offsite": "0 4 * * *", "drill": "0 5 1 * *",
                         "watchdog": "*/5 * * * *"}
    assert not [d for d in deployed.of_kind("Deployment") if d.object_name == "watchdog"]  # Docker's form


def test_the_watchdog_reads_only_what_it_watches_and_patches_only_its_state(deployed):
    (role,) = [r for r in deployed.of_kind("Role") if r.object_name == "watchdog-api"]
    rules = {(tuple(r["resources"]), tuple(r["resourceNames"])): r["verbs"] for r in role.inputs["rules"]}
    assert rules == {(("configmaps",), ("watchdog-state",)): ["get", "patch"],
                     (("deployments",), ("worker",)): ["get"],
                     (("cronjobs",), ("backup", "drill", "offsite")): ["get"]}
    state = deployed.one("ConfigMap", "watchdog-state")
    assert state.options["ignore_changes"] == ["data"]
    watchdog = pod(deployed.one("CronJob", "watchdog"))
    assert watchdog["serviceAccountName"] == "watchdog-api" and watchdog["automountServiceAccountToken"] is True


def test_only_the_watchdog_and_the_reporting_job_carry_an_api_token(deployed):
    holders = {d.object_name for d in deployed.k8s() if d.kind in ("Deployment", "StatefulSet", "CronJob")
               and pod(d).get("automountServiceAccountToken")}
    assert holders == {"watchdog"}
    jobs = [d for d in deployed.of_kind("Job") if pod(d).get("automountServiceAccountToken")]
    assert [d.inputs["metadata"]["labels"]["app.kubernetes.io/component"] for d in jobs] == ["bootstrap"]


def test_the_worker_keeps_its_heartbeat_in_its_own_pod(deployed):
    volumes = {v["name"]: v for v in pod(deployed.one("Deployment", "worker"))["volumes"]}
    assert "emptyDir" in volumes["heartbeat"]
    assert not [c for c in deployed.of_kind("PersistentVolumeClaim") if c.object_name == "heartbeat"]


def test_the_watchdog_may_reach_the_api_server_and_its_alert_target_only(deployed):
    policy = deployed.one("NetworkPolicy", "watchdog-traffic").inputs["spec"]
    ports = sorted({p["port"] for rule in policy["egress"] for p in rule.get("ports", [])})
    assert ports == [53, 443, 6443, 8000, 16443]
    assert policy["ingress"] == []


def test_the_alert_token_and_storage_keys_never_reach_state_in_clear(deployed):
    for secret in (BOT_TOKEN, "c2VjcmV0LWtleS1leGFtcGxl"):
        assert not [d.name for d in deployed.declared if any(secret in s for s in plain_strings(d.raw))]
