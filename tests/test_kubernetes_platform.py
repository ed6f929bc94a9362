"""The Kubernetes platform under Pulumi mocks: every object is schema-valid, and behaves as designed.

Each configuration variant declares the platform with a synthetic app; every declared object is
validated against the Kubernetes 1.30 schema in strict mode (unknown fields refused).
"""

from __future__ import annotations

import json
import subprocess
import sys

import kubernetes_validate
import pytest

from components.platforms.kubernetes import report
from components.spec import REPORT_PREFIX
from tests.k8s_helpers import (
    REPORT_JSON,
    SECRET_VALUES,
    containers,
    deploy,
    pod_spec,
    sample_spec,
    without_postgres,
)

K8S_VERSION = "1.30.0"  # kubernetes-validate ships v1.30.0-local-strict

HTTPS_ISSUER = {"ingress": {"className": "nginx", "clusterIssuer": "letsencrypt-prod",
                            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "20m"}}}
HTTPS_SECRET = {"ingress": {"className": "nginx", "tlsSecret": "errors-example-com-tls"}}
SCALED = {"web": {"minReplicas": 2, "maxReplicas": 5, "targetCpuPercent": 70},
          "worker": {"replicas": 3}, "storageClass": "fast-rwx"}

VARIANTS = {
    "default": dict(),
    "https-cluster-issuer": dict(data=HTTPS_ISSUER),
    "https-tls-secret": dict(data=HTTPS_SECRET),
    "http": dict(url="http://errors.internal.example.com"),
    "external-db": dict(spec=None, external=True),
    "scaled": dict(data=SCALED),
    "existing-namespace": dict(data={"createNamespace": False, "namespace": "observability"}),
    "render": dict(data={"renderYamlTo": "/tmp/rendered-manifests"}),
    "preview": dict(preview=True),
}


def run(variant: str):
    options = dict(VARIANTS[variant])
    if options.pop("external", False):
        options["spec"] = without_postgres()
    return deploy(**{k: v for k, v in options.items() if v is not None})


@pytest.fixture(scope="module")
def results():
    return {name: run(name) for name in VARIANTS}


# --- schema ------------------------------------------------------------------------------------

def test_the_1_30_strict_schemas_ship():
    assert "1.30.0" in kubernetes_validate.utils.all_versions()
    assert kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                                        K8S_VERSION, strict=True) == "1.30"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                      "nonsense": 1}, K8S_VERSION, strict=True)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_object_is_valid_kubernetes_1_30(results, variant):
    declared = results[variant].k8s()
    assert len(declared) > 15
    for d in declared:
        manifest = d.manifest()
        try:
            kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{variant}: {d.typ} {d.object_name}: {error.message} at {list(error.path)}")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_object_is_labelled_and_namespaced(results, variant):
    deployment = results[variant]
    expected_ns = "observability" if variant == "existing-namespace" else "error-tracking"
    for d in deployment.k8s():
        labels = d.inputs["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "demo", d.name
        assert labels["app.kubernetes.io/instance"] == "et", d.name
        assert labels["app.kubernetes.io/managed-by"] == "pulumi", d.name
        assert labels["app.kubernetes.io/component"], d.name
        if d.kind != "Namespace" and not d.name.startswith("et-dsn-"):
            assert d.inputs["metadata"]["namespace"] == expected_ns, d.name


def test_selectors_use_name_instance_component(results):
    web = results["default"].one("Deployment", "web").inputs
    assert web["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "et", "app.kubernetes.io/component": "web"}
    service = results["default"].one("Service", "web").inputs
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]


# --- provider and namespace --------------------------------------------------------------------

def test_render_yaml_to_reaches_the_provider(results):
    assert results["render"].provider().inputs.get("renderYamlToDirectory") == "/tmp/rendered-manifests"
    assert "renderYamlToDirectory" not in results["default"].provider().inputs
    # ConfigMaps/Secrets are updated in place, so the report a Job patched in is never replaced away
    provider = results["default"].provider().inputs
    assert provider["enableSecretMutable"] == "true" and provider["enableConfigMapMutable"] == "true"


@pytest.mark.parametrize("variant", ["default", "render"])
def test_every_object_uses_the_explicit_provider_and_the_component_as_parent(results, variant):
    result = results[variant]
    component = next(d for d in result.declared if d.typ == "error-tracking:platform:Kubernetes")
    provider = result.provider()
    assert provider.parent == component.urn
    for d in [*result.k8s(), *result.reads()]:
        assert d.provider.startswith(provider.urn + "::"), f"{d.typ} {d.name} uses provider {d.provider!r}"
        assert d.parent == component.urn, f"{d.typ} {d.name} has parent {d.parent!r}"


def test_kubeconfig_and_context_reach_the_provider():
    result = deploy({"kubeconfig": "/home/ops/.kube/prod", "context": "prod", "namespace": "errors"})
    provider = result.provider()
    assert provider.inputs["kubeconfig"] == "/home/ops/.kube/prod"
    assert provider.inputs["context"] == "prod"
    assert provider.inputs["namespace"] == "errors"
    # the kubeconfig (a path or the file's contents) stays secret in state
    assert "4dabf18193072939515e22adb298388d" in provider.raw["kubeconfig"]


def test_namespace_created_unless_disabled(results):
    assert [d.object_name for d in results["default"].of_kind("Namespace")] == ["error-tracking"]
    assert results["existing-namespace"].of_kind("Namespace") == []
    web = results["default"].one("Deployment", "web")
    namespace = results["default"].one("Namespace", "error-tracking")
    assert namespace.urn in web.dependencies


# --- workloads ---------------------------------------------------------------------------------

def test_stateful_service_is_a_statefulset_with_claim_template_and_same_named_service(results):
    result = results["scaled"]
    postgres = result.one("StatefulSet", "postgres").inputs["spec"]
    assert postgres["replicas"] == 1
    assert postgres["serviceName"] == "postgres"
    (template,) = postgres["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "pgdata"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert template["spec"]["storageClassName"] == "fast-rwx"
    assert template["spec"]["resources"]["requests"]["storage"] == "10Gi"
    service = result.one("Service", "postgres").inputs["spec"]
    assert service["ports"] == [{"name": "postgres", "port": 5432, "targetPort": 5432, "protocol": "TCP"}]
    assert result.of_kind("Deployment") and not [d for d in result.of_kind("Deployment") if d.object_name == "postgres"]
    # the claim is the StatefulSet's own: no standalone PVC for it
    assert "pgdata" not in [d.object_name for d in result.of_kind("PersistentVolumeClaim")]


def test_external_db_declares_no_postgres(results):
    result = results["external-db"]
    assert not [d for d in result.k8s() if "postgres" == d.object_name]
    assert result.of_kind("StatefulSet") == []
    assert not [n for n in result.of_kind("NetworkPolicy") if n.object_name == "postgres-ingress"]


def test_shared_volume_is_read_write_many_and_others_read_write_once(results):
    result = results["scaled"]
    uploads = result.one("PersistentVolumeClaim", "uploads").inputs["spec"]
    assert uploads["accessModes"] == ["ReadWriteMany"]
    assert uploads["storageClassName"] == "fast-rwx"
    assert uploads["resources"]["requests"]["storage"] == "5Gi"
    backups = result.one("PersistentVolumeClaim", "backups").inputs["spec"]
    assert backups["accessModes"] == ["ReadWriteOnce"]
    default_claim = results["default"].one("PersistentVolumeClaim", "uploads").inputs["spec"]
    assert "storageClassName" not in default_claim
    for name in ("web", "worker"):
        volumes = pod_spec(result.one("Deployment", name))["volumes"]
        assert {"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}} in volumes


def test_volume_sizes_override():
    result = deploy({"volumeSizes": {"uploads": 50, "pgdata": 100}})
    assert result.one("PersistentVolumeClaim", "uploads").inputs["spec"]["resources"]["requests"]["storage"] == "50Gi"
    claim = result.one("StatefulSet", "postgres").inputs["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_volume_size_for_unknown_volume_is_refused_by_name():
    from components.platforms.kubernetes import PLUGIN
    from tests.k8s_helpers import settings

    problems = PLUGIN.check(sample_spec(), settings({"volumeSizes": {"media": 5, "uploads": 5}}))
    assert len(problems) == 1 and problems[0].startswith("error-tracking:kubernetes.volumeSizes.media:")


def test_probes_from_health_checks(results):
    result = results["default"]
    (web,) = containers(result.one("Deployment", "web"))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert web[probe]["httpGet"] == {"path": "/_health/", "port": 8000}
        assert web[probe]["periodSeconds"] == 10 and web[probe]["timeoutSeconds"] == 5
    assert web["readinessProbe"]["failureThreshold"] == 6
    # start period (30 s at 10 s intervals) is given to the startup probe only
    assert web["startupProbe"]["failureThreshold"] == 9
    (postgres,) = containers(result.one("StatefulSet", "postgres"))
    assert postgres["livenessProbe"]["exec"] == {"command": ["pg_isready", "-U", "app"]}
    assert postgres["readinessProbe"]["exec"] == {"command": ["pg_isready", "-U", "app"]}
    (worker,) = containers(result.one("Deployment", "worker"))
    assert worker["livenessProbe"]["exec"] == {"command": ["test", "-f", "/tmp/worker_health"]}


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


@pytest.mark.parametrize("variant", ["default", "scaled", "external-db"])
def test_every_container_has_resources_and_a_hardened_security_context(results, variant):
    spec = sample_spec(with_postgres=variant != "external-db")
    by_name = {w.name: w for w in spec.workloads()}
    seen = set()
    for d in results[variant].k8s():
        if d.kind not in WORKLOAD_KINDS:
            continue
        pod = pod_spec(d)
        for c in pod["containers"]:
            w = by_name[c["name"]]
            seen.add(w.name)
            assert c["resources"] == {
                "limits": {"memory": f"{w.resources.memory_mb}Mi", "cpu": f"{round(w.resources.cpu * 1000)}m"},
                "requests": {"memory": f"{w.resources.requested_memory_mb}Mi",
                             "cpu": f"{round(w.resources.requested_cpu * 1000)}m"},
            }, c["name"]
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert sc["runAsUser"] == w.run_as_user and sc["runAsGroup"] == w.run_as_group
        assert pod["securityContext"]["fsGroup"] == w.run_as_group
        assert pod["securityContext"]["runAsNonRoot"] is True
    assert seen == set(by_name)


def test_command_replaces_cmd_not_entrypoint(results):
    (web,) = containers(results["default"].one("Deployment", "web"))
    assert web["args"] == ["./bin/start.sh"] and "command" not in web


def test_web_rolls_without_downtime_and_single_instances_recreate(results):
    web = results["default"].one("Deployment", "web").inputs["spec"]
    assert web["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert web["replicas"] == 1
    valkey = results["default"].one("Deployment", "valkey").inputs["spec"]
    assert valkey["strategy"] == {"type": "Recreate"} and valkey["replicas"] == 1


def test_no_autoscaler_or_budget_for_a_single_replica(results):
    assert results["default"].of_kind("HorizontalPodAutoscaler") == []
    assert results["default"].of_kind("PodDisruptionBudget") == []


def test_multi_replica_web_gets_autoscaler_and_disruption_budget(results):
    result = results["scaled"]
    hpa = result.one("HorizontalPodAutoscaler", "web").inputs["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    pdb = result.one("PodDisruptionBudget", "web").inputs["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    # the autoscaler owns the replica count; the worker has a fixed one
    assert "replicas" not in result.one("Deployment", "web").inputs["spec"]
    assert result.one("Deployment", "worker").inputs["spec"]["replicas"] == 3
    assert [h.object_name for h in result.of_kind("HorizontalPodAutoscaler")] == ["web"]
    assert sorted(p.object_name for p in result.of_kind("PodDisruptionBudget")) == ["web", "worker"]


# --- env and secrets ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_secret_value_outside_secrets(results, variant):
    for d in results[variant].k8s():
        if d.kind == "Secret":
            continue
        text = json.dumps(d.inputs)
        for value in SECRET_VALUES:
            assert value not in text, f"{d.typ} {d.object_name} holds a secret value"


def test_secret_env_in_secrets_plain_env_in_configmaps(results):
    result = results["default"]
    secret = result.one("Secret", "web-env")
    assert secret.inputs["stringData"] == {
        "SECRET_KEY": "s3cr3t-key-value", "DATABASE_URL": "postgres://app:pg-pass-123@postgres:5432/app"}
    # the values are marked secret for the state file
    assert "4dabf18193072939515e22adb298388d" in secret.raw["stringData"]
    config = result.one("ConfigMap", "web-env")
    assert config.inputs["data"]["SERVER_ROLE"] == "web"
    assert "SECRET_KEY" not in config.inputs["data"]
    (web,) = containers(result.one("Deployment", "web"))
    assert web["envFrom"] == [{"configMapRef": {"name": "web-env"}}, {"secretRef": {"name": "web-env"}}]
    assert "env" not in web


def test_env_checksum_rolls_pods_when_a_secret_changes():
    from dataclasses import replace
    import pulumi

    first = deploy(report_task=None)
    spec = sample_spec()
    web = spec.service("web")
    changed = replace(web, secret_env={**web.secret_env, "SECRET_KEY": pulumi.Output.secret("rotated")})
    spec = replace(spec, services=tuple(changed if s.name == "web" else s for s in spec.services))
    second = deploy(spec=spec, report_task=None)

    def checksum(result):
        return result.one("Deployment", "web").inputs["spec"]["template"]["metadata"]["annotations"]["checksum/env"]

    assert checksum(first) != checksum(second)
    assert checksum(first) == checksum(deploy(report_task=None))


# --- tasks -------------------------------------------------------------------------------------

def test_jobs_run_once_to_completion_and_stay(results):
    for job in results["default"].of_kind("Job"):
        spec = job.inputs["spec"]
        assert spec["backoffLimit"] >= 1
        assert spec["activeDeadlineSeconds"] == 1800
        assert "ttlSecondsAfterFinished" not in spec
        assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_job_name_follows_what_it_runs(results):
    (migrate,) = [j for j in results["default"].of_kind("Job") if j.object_name.startswith("migrate-")]
    same = deploy(report_task=None)
    assert migrate.object_name in [j.object_name for j in same.of_kind("Job")]
    upgraded = deploy(spec=sample_spec(image="example/app:1.1.0"), report_task=None)
    names = [j.object_name for j in upgraded.of_kind("Job")]
    assert migrate.object_name not in names
    assert any(n.startswith("migrate-") for n in names)
    from dataclasses import replace

    spec = sample_spec()
    migrate_task = replace(spec.task("migrate"), env={**spec.task("migrate").env, "PORT": "9000"})
    changed_env = deploy(spec=replace(spec, tasks=(migrate_task, spec.task("bootstrap"))), report_task=None)
    assert migrate.object_name not in [j.object_name for j in changed_env.of_kind("Job")]


def test_entrypoint_port_must_be_served():
    from dataclasses import replace
    from components.spec import Entrypoint

    spec = replace(sample_spec(), entrypoint=Entrypoint("web", 9999, "/_health/"))
    with pytest.raises(ValueError, match="9999"):
        deploy(spec=spec, report_task=None)


def test_migration_job_runs_before_web_and_worker(results):
    result = results["default"]
    (migrate,) = [j for j in result.of_kind("Job") if j.object_name.startswith("migrate-")]
    for name in ("web", "worker"):
        assert migrate.urn in result.one("Deployment", name).dependencies, name
    # and the migration waits for the database it migrates
    assert result.one("StatefulSet", "postgres").urn in migrate.dependencies
    (bootstrap,) = [j for j in result.of_kind("Job") if j.object_name.startswith("bootstrap-")]
    assert migrate.urn in bootstrap.dependencies


def test_backup_is_a_daily_cronjob_with_its_claim(results):
    cron = results["default"].one("CronJob", "backup").inputs["spec"]
    assert cron["schedule"] == "30 3 * * *"
    assert cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert {"name": "backups", "persistentVolumeClaim": {"claimName": "backups"}} in pod["volumes"]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "backups", "mountPath": "/backups", "readOnly": False}]


# --- the reporting task ------------------------------------------------------------------------

def test_reporting_job_may_patch_only_its_secret(results):
    result = results["default"]
    role = result.one("Role", "bootstrap-reporter").inputs
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": ["bootstrap-report"], "verbs": ["get", "patch"]}]
    binding = result.one("RoleBinding", "bootstrap-reporter").inputs
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bootstrap-reporter"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bootstrap-reporter", "namespace": "error-tracking"}]
    (job,) = [j for j in result.of_kind("Job") if j.object_name.startswith("bootstrap-")]
    pod = pod_spec(job)
    assert pod["serviceAccountName"] == "bootstrap-reporter"
    assert pod["automountServiceAccountToken"] is True
    (container,) = pod["containers"]
    assert container["command"][:2] == ["python3", "-c"]
    assert container["command"][3:] == ["bootstrap-report", "report", REPORT_PREFIX, "--",
                                        "python3", "manage.py", "bootstrap"]
    # no other pod gets an API token
    for d in result.k8s():
        if d.kind in WORKLOAD_KINDS and d is not job:
            assert pod_spec(d)["automountServiceAccountToken"] is False, d.object_name
    assert result.one("Secret", "bootstrap-report").inputs.get("stringData") is None


def test_task_output_is_the_report_read_back_after_the_job(results):
    result = results["default"]
    assert result.report == REPORT_PREFIX + REPORT_JSON
    assert result.report_secret is True
    (read,) = result.reads()
    assert read.typ == "kubernetes:core/v1:Secret"
    assert read.resource_id == "error-tracking/bootstrap-report"
    (job,) = [j for j in result.of_kind("Job") if j.object_name.startswith("bootstrap-")]
    # read only once the Job completed, and it is the Secret the Job's wrapper patches
    assert job.urn in read.dependencies
    assert pod_spec(job)["containers"][0]["command"][3] == "bootstrap-report"


def test_task_output_for_a_non_reporting_task_is_refused(results):
    with pytest.raises(KeyError, match="migrate"):
        results["default"].platform.task_output("migrate")


def test_render_mode_reads_nothing_and_leaves_the_report_unknown(results):
    result = results["render"]
    assert result.reads() == []
    assert result.report_known is False and result.report is None
    # the DSN Secret cannot be rendered without the DSN
    assert not [d for d in result.of_kind("Secret") if d.object_name == "api-sentry"]


def test_wrapper_passes_logs_through_keeps_the_report_out_and_fails_with_the_task(tmp_path):
    script = (f"echo starting; echo '{REPORT_PREFIX}{{\"token\": \"abc\"}}'; echo done; exit %d")
    ok = subprocess.run([sys.executable, "-c", report.WRAPPER, "s", "report", REPORT_PREFIX, "--", "sh", "-c", script % 0],
                        capture_output=True, text=True, timeout=10)
    assert "starting" in ok.stdout and "done" in ok.stdout
    assert '"token"' not in ok.stdout + ok.stderr
    # no service account outside a pod: it got as far as the API call
    assert "serviceaccount" in ok.stderr
    failed = subprocess.run([sys.executable, "-c", report.WRAPPER, "s", "report", REPORT_PREFIX, "--", "sh", "-c", script % 7],
                            capture_output=True, text=True, timeout=10)
    assert failed.returncode == 7 and "exit code 7" in failed.stderr
    silent = subprocess.run([sys.executable, "-c", report.WRAPPER, "s", "report", REPORT_PREFIX, "--", "true"],
                            capture_output=True, text=True, timeout=10)
    assert silent.returncode == 3 and "without printing its report line" in silent.stderr


# --- DSN delivery ------------------------------------------------------------------------------

def test_dsn_is_delivered_as_a_secret_in_the_target_namespace(results):
    result = results["default"]
    secret = result.one("Secret", "api-sentry")
    assert secret.inputs["metadata"]["namespace"] == "shop"
    assert secret.inputs["stringData"] == {"SENTRY_DSN": "https://k3y@errors.example.com/1"}
    assert "4dabf18193072939515e22adb298388d" in secret.raw["stringData"]
    # the application's namespace is not ours to create
    assert "shop" not in [n.object_name for n in result.of_kind("Namespace")]


def test_two_projects_into_one_secret_are_refused():
    from components.settings import DsnTarget, KubernetesSecretTarget

    targets = (
        DsnTarget("api", kubernetes_secret=KubernetesSecretTarget("shop", "sentry", "API_DSN")),
        DsnTarget("web", kubernetes_secret=KubernetesSecretTarget("shop", "sentry", "WEB_DSN")),
    )
    with pytest.raises(ValueError, match="shop/sentry"):
        deploy(dsn_targets=targets)


# --- network -----------------------------------------------------------------------------------

def test_ingress_https_with_cluster_issuer(results):
    ingress = results["https-cluster-issuer"].one("Ingress", "demo").inputs
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod",
        "nginx.ingress.kubernetes.io/proxy-body-size": "20m",
    }
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["errors.example.com"], "secretName": "demo-tls"}]
    (rule,) = spec["rules"]
    assert rule["host"] == "errors.example.com"
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix",
                                      "backend": {"service": {"name": "web", "port": {"number": 8000}}}}]


def test_ingress_with_existing_tls_secret(results):
    ingress = results["https-tls-secret"].one("Ingress", "demo").inputs
    assert ingress["spec"]["tls"] == [{"hosts": ["errors.example.com"], "secretName": "errors-example-com-tls"}]
    assert "cert-manager.io/cluster-issuer" not in ingress["metadata"].get("annotations", {})


def test_plain_http_url_has_no_tls(results):
    ingress = results["http"].one("Ingress", "demo").inputs
    assert "tls" not in ingress["spec"]
    assert ingress["spec"]["rules"][0]["host"] == "errors.internal.example.com"


def test_network_policies_admit_only_dependents(results):
    result = results["default"]

    def policy(name):
        return result.one("NetworkPolicy", f"{name}-ingress").inputs["spec"]

    postgres = policy("postgres")
    assert postgres["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "postgres"
    assert postgres["policyTypes"] == ["Ingress"]
    (rule,) = postgres["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchExpressions"] == [{
        "key": "app.kubernetes.io/component", "operator": "In",
        "values": ["backup", "bootstrap", "migrate", "web", "worker"]}]
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "et"}
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    (valkey_rule,) = policy("valkey")["ingress"]
    assert valkey_rule["from"][0]["podSelector"]["matchExpressions"][0]["values"] == ["migrate", "web", "worker"]
    web = policy("web")
    assert web["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]
    # external DB: no postgres policy, valkey still restricted
    names = [n.object_name for n in results["external-db"].of_kind("NetworkPolicy")]
    assert sorted(names) == ["valkey-ingress", "web-ingress"]
