"""Services, tasks and scheduled tasks as Kubernetes workloads: kinds, pods, scaling, Jobs, order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.spec import Entrypoint
from tests.k8s_helpers import (
    changed,
    containers,
    deploy,
    deployed,
    job,
    pod_spec,
    sample_spec,
    workloads,
)


# --- kinds and storage -------------------------------------------------------------------------

def test_a_stateful_service_is_a_statefulset_with_its_claim_and_a_same_named_service():
    result = deployed("scaled")
    postgres = result.one("StatefulSet", "postgres").inputs["spec"]
    assert postgres["replicas"] == 1 and postgres["serviceName"] == "postgres"
    (template,) = postgres["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "pgdata"
    assert template["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-rwx",
                                "resources": {"requests": {"storage": "100Gi"}}}  # kubernetes.volumeSizes
    assert result.one("Service", "postgres").inputs["spec"]["ports"] == [
        {"name": "postgres", "port": 5432, "targetPort": 5432, "protocol": "TCP"}]
    # the claim is the StatefulSet's own: no standalone claim, and the pod mounts the template
    assert "pgdata" not in [d.object_name for d in result.of_kind("PersistentVolumeClaim")]
    assert not [v for v in pod_spec(result.one("StatefulSet", "postgres"))["volumes"] if v["name"] == "pgdata"]
    assert {"name": "pgdata", "mountPath": "/var/lib/postgresql", "readOnly": False} in \
        containers(result.one("StatefulSet", "postgres"))[0]["volumeMounts"]
    assert {d.object_name for d in result.of_kind("Deployment")} == {"web", "worker", "valkey"}


def test_an_external_database_leaves_postgres_and_its_backup_out():
    result = deployed("external-db")
    assert not [d for d in result.k8s() if d.object_name in ("postgres", "backup", "pgdata", "backups")]
    assert result.of_kind("StatefulSet") == [] and result.of_kind("CronJob") == []


def test_shared_volumes_are_read_write_many_and_others_read_write_once():
    result = deployed("scaled")
    uploads = result.one("PersistentVolumeClaim", "uploads").inputs["spec"]
    assert uploads == {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-rwx",
                       "resources": {"requests": {"storage": "50Gi"}}}  # kubernetes.volumeSizes
    assert result.one("PersistentVolumeClaim", "backups").inputs["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in deployed("default").one("PersistentVolumeClaim", "uploads").inputs["spec"]
    for name in ("web", "worker"):
        volumes = pod_spec(result.one("Deployment", name))["volumes"]
        assert {"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}} in volumes
    # a claim is created before the pods that mount it
    assert result.one("PersistentVolumeClaim", "uploads").urn in result.one("Deployment", "web").dependencies


def test_claims_get_the_apps_sizes_unless_overridden():
    result = deployed("default")
    assert result.one("PersistentVolumeClaim", "uploads").inputs["spec"]["resources"]["requests"]["storage"] == "5Gi"
    claim = result.one("StatefulSet", "postgres").inputs["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    backups = result.one("PersistentVolumeClaim", "backups").inputs["spec"]["resources"]["requests"]["storage"]
    assert backups == "20Gi" == deployed("scaled").one("PersistentVolumeClaim", "backups").inputs["spec"][
        "resources"]["requests"]["storage"]  # not in scaled's volumeSizes


def test_an_app_upgrade_neither_restarts_nor_replaces_what_did_not_change():
    # Claim templates are immutable: pulumi-kubernetes replaces a StatefulSet whose templates
    # change, which would stop its database; pod templates with the version would restart it.
    result = deployed("default")
    (claim,) = result.one("StatefulSet", "postgres").inputs["spec"]["volumeClaimTemplates"]
    assert "app.kubernetes.io/version" not in claim["metadata"]["labels"]
    for name, workload in workloads(result).items():
        spec = workload.inputs["spec"]
        template = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        assert "app.kubernetes.io/version" not in template["metadata"]["labels"], name
    upgraded = changed("one plain change each")  # version 1.0.1, nothing of valkey's changed
    assert upgraded.one("Deployment", "valkey").inputs["spec"] == changed("identical").one(
        "Deployment", "valkey").inputs["spec"]
    assert upgraded.one("Deployment", "valkey").inputs["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.1"


# --- pods --------------------------------------------------------------------------------------

def test_probes_come_from_health_checks_and_the_start_period_goes_to_the_startup_probe():
    result = deployed("default")
    (web,) = containers(result.one("Deployment", "web"))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert web[probe]["httpGet"] == {"path": "/_health/", "port": 8000}
        assert web[probe]["periodSeconds"] == 10 and web[probe]["timeoutSeconds"] == 5
    assert web["readinessProbe"]["failureThreshold"] == 6 == web["livenessProbe"]["failureThreshold"]
    assert web["startupProbe"]["failureThreshold"] == 9  # 6 + 30 s start period at 10 s intervals
    (postgres,) = containers(result.one("StatefulSet", "postgres"))
    assert postgres["livenessProbe"]["exec"] == {"command": ["pg_isready", "-U", "app"]}
    assert postgres["startupProbe"]["failureThreshold"] == 12
    (worker,) = containers(result.one("Deployment", "worker"))
    assert worker["livenessProbe"]["exec"] == {"command": ["test", "-f", "/tmp/worker_health"]}
    # No port, no Service endpoint to gate: no readiness probe to run beside the liveness one.
    assert "readinessProbe" not in worker
    assert "readinessProbe" not in containers(job(result, "migrate"))[0]


@pytest.mark.parametrize("variant", ["default", "external-db"])
def test_every_container_has_its_resources_and_a_hardened_security_context(variant):
    spec = sample_spec(with_postgres=variant != "external-db")
    found = workloads(deployed(variant))
    assert set(found) == {w.name for w in spec.workloads()}
    for w in spec.workloads():
        pod = pod_spec(found[w.name])
        (c,) = pod["containers"]
        assert c["resources"] == {
            "limits": {"memory": f"{w.resources.memory_mb}Mi", "cpu": f"{round(w.resources.cpu * 1000)}m"},
            "requests": {"memory": f"{w.resources.memory_mb}Mi",
                         "cpu": f"{round(w.resources.cpu * 1000)}m"},
        }, w.name
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, w.name
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, w.name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, w.name
        if w.root:
            continue
        assert sc["runAsNonRoot"] is True and pod["securityContext"]["runAsNonRoot"] is True, w.name
        assert sc["capabilities"] == {"drop": ["ALL"]}, w.name
        assert (sc["runAsUser"], sc["runAsGroup"]) == (w.run_as_user, w.run_as_group), w.name
        assert pod["securityContext"]["fsGroup"] == w.run_as_group, w.name


def test_a_root_workload_may_start_as_root_with_only_its_own_capabilities():
    pod = pod_spec(deployed("default").one("Deployment", "valkey"))
    sc = pod["containers"][0]["securityContext"]
    assert sc.get("runAsNonRoot") is not True and pod["securityContext"].get("runAsNonRoot") is not True
    assert "runAsUser" not in sc
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["SETUID", "SETGID"]}
    assert sc["allowPrivilegeEscalation"] is False


def test_read_only_root_filesystem_follows_the_description():
    spec, found = sample_spec(), workloads(deployed("default"))
    assert {w.read_only_root for w in spec.workloads()} == {True, False}  # the sample has both
    for w in spec.workloads():
        assert containers(found[w.name])[0]["securityContext"]["readOnlyRootFilesystem"] is w.read_only_root, w.name


def test_command_replaces_the_images_cmd_and_entrypoint_its_entrypoint():
    result = deployed("default")
    (web,) = containers(result.one("Deployment", "web"))
    assert web["args"] == ["./bin/start.sh"] and "command" not in web
    (postgres,) = containers(result.one("StatefulSet", "postgres"))
    assert postgres["command"] == ["docker-entrypoint.sh"]
    assert postgres["args"] == ["postgres", "-c", "max_connections=50"]


def test_stop_grace_period_follows_the_description():
    result = deployed("default")
    assert pod_spec(result.one("Deployment", "web"))["terminationGracePeriodSeconds"] == 45
    assert "terminationGracePeriodSeconds" not in pod_spec(result.one("Deployment", "worker"))


# --- scaling -----------------------------------------------------------------------------------

def test_two_replicas_roll_without_downtime_one_is_replaced_in_place_and_singletons_are_recreated():
    surge = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    in_place = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    scaled = deployed("scaled")  # web autoscales from 2, the worker runs 3: some always serve
    assert scaled.one("Deployment", "web").inputs["spec"]["strategy"] == surge
    assert scaled.one("Deployment", "worker").inputs["spec"]["strategy"] == surge
    result = deployed("default")  # one replica each: a rollout never waits for room on the node
    assert result.one("Deployment", "web").inputs["spec"]["strategy"] == in_place  # max_replicas None
    assert result.one("Deployment", "worker").inputs["spec"]["strategy"] == in_place  # max_replicas 4
    valkey = result.one("Deployment", "valkey").inputs["spec"]  # max_replicas 1: never two side by side
    assert valkey["strategy"] == {"type": "Recreate"} and valkey["replicas"] == 1


def test_without_autoscaling_or_extra_replicas_there_is_no_autoscaler_or_budget():
    result = deployed("default")
    assert result.of_kind("HorizontalPodAutoscaler") == [] and result.of_kind("PodDisruptionBudget") == []
    assert result.one("Deployment", "web").inputs["spec"]["replicas"] == 1


def test_an_autoscaler_only_where_configured_owning_the_replica_count_and_budgets_above_one():
    result = deployed("scaled")
    (hpa,) = result.of_kind("HorizontalPodAutoscaler")
    assert hpa.object_name == "web"
    spec = hpa.inputs["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 5)
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    # `pulumi up` must not reset what the autoscaler chose; the worker keeps its fixed count
    assert "replicas" not in result.one("Deployment", "web").inputs["spec"]
    assert result.one("Deployment", "worker").inputs["spec"]["replicas"] == 3
    budgets = {p.object_name: p.inputs["spec"] for p in result.of_kind("PodDisruptionBudget")}
    assert set(budgets) == {"web", "worker"}  # guaranteed 2 (autoscaler minimum) and 3 replicas
    assert budgets["web"] == {"maxUnavailable": 1, "selector": {"matchLabels": {
        "app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "et", "app.kubernetes.io/component": "web"}}}


def test_an_autoscaler_from_one_replica_gets_no_budget():
    result = deployed("https-tls-secret")  # autoscaling.worker: {maxReplicas: 3}
    assert [h.object_name for h in result.of_kind("HorizontalPodAutoscaler")] == ["worker"]
    assert "replicas" not in result.one("Deployment", "worker").inputs["spec"]
    assert result.of_kind("PodDisruptionBudget") == []


# --- tasks -------------------------------------------------------------------------------------

def test_jobs_run_to_completion_once_and_stay():
    for task in ("migrate", "bootstrap"):
        found = job(deployed("default"), task)
        spec = found.inputs["spec"]
        assert spec["backoffLimit"] == 2 and spec["activeDeadlineSeconds"] == 1800
        assert "ttlSecondsAfterFinished" not in spec  # a vanished Job would be created again
        assert spec["template"]["spec"]["restartPolicy"] == "Never"
        assert found.inputs["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
        assert found.options["custom_timeouts"] == "1920s"  # the deadline plus two minutes


def test_a_job_keeps_its_name_across_identical_runs():
    first = {t: job(deployed("external-db"), t).object_name for t in ("migrate", "bootstrap")}
    assert {t: job(changed("identical"), t).object_name for t in ("migrate", "bootstrap")} == first
    assert first["migrate"].startswith("migrate-") and len(first["migrate"]) == len("migrate-") + 8


@pytest.mark.parametrize("task, change", [
    ("migrate", "one plain change each"),  # a plain variable
    ("bootstrap", "one plain change each"),  # its image
    ("migrate", "secret env value"), ("bootstrap", "secret env value"),
    ("migrate", "secret file"),
])
def test_a_job_is_named_after_what_it_runs_so_a_change_runs_it_again(task, change):
    before = job(changed("identical"), task).object_name
    after = job(changed(change), task).object_name
    assert after.startswith(f"{task}-") and after != before


def test_the_entrypoint_must_be_a_port_of_its_service():
    spec = replace(sample_spec(), entrypoint=Entrypoint("web", 9999, "/_health/"))
    with pytest.raises(ValueError, match="9999"):
        deploy(spec=spec, report_task=None)


def test_workloads_start_after_what_they_wait_for():
    result = deployed("default")
    found = workloads(result)

    def waits_for(name, *others):
        return {found[o].urn for o in others} <= set(found[name].dependencies)

    assert waits_for("migrate", "postgres", "valkey")
    assert waits_for("web", "postgres", "valkey", "migrate") and waits_for("worker", "postgres", "valkey", "migrate")
    assert waits_for("bootstrap", "postgres", "migrate", "web")
    assert waits_for("backup", "postgres")
    assert not waits_for("migrate", "web")


def test_a_workload_starts_only_once_the_policies_letting_it_talk_exist():
    result = deployed("default")
    found = workloads(result)
    for w in sample_spec().workloads():
        needed = {result.one("NetworkPolicy", f"{n}-traffic").urn for n in (w.name, *w.connects_to)}
        assert needed <= set(found[w.name].dependencies), w.name


def test_backup_is_a_cronjob_on_its_schedule_with_its_claim():
    cron = deployed("default").one("CronJob", "backup").inputs["spec"]
    assert cron["schedule"] == "30 3 * * *" and cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert {"name": "backups", "persistentVolumeClaim": {"claimName": "backups"}} in pod["volumes"]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "backups", "mountPath": "/backups", "readOnly": False}]
