"""The Kubernetes platform under the harness: valid objects, one provider, a kept namespace and kept
data, the renamed type's alias, the reporting task's round trip and DSN delivery.

A synthetic app (tests.k8s_helpers.sample_spec) stands in for any app; every configuration
variant is deployed once per session and every object is validated in strict mode.
"""

from __future__ import annotations

import subprocess
import sys

import kubernetes_validate
import pytest

from components.platforms.kubernetes import report
from components.spec import REPORT_PREFIX
from tests.k8s_helpers import (
    DSN,
    INSTANCE,
    REPORT_LINE,
    SCHEMA_VERSIONS,
    VARIANTS,
    WORKLOAD_KINDS,
    component,
    deploy,
    deployed,
    job,
    pod_spec,
    provider,
    sample_spec,
    schema_problems,
)


# --- schema ------------------------------------------------------------------------------------

def test_strict_schemas_ship_for_1_30_and_a_newer_minor():
    oldest, newest = SCHEMA_VERSIONS
    assert oldest == "1.30.0" and tuple(map(int, newest.split("."))) > (1, 30)
    for version in SCHEMA_VERSIONS:
        assert version in kubernetes_validate.utils.all_versions()
        with pytest.raises(kubernetes_validate.ValidationError):  # strict: unknown fields refused
            kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                          "nonsense": 1}, version, strict=True)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_object_of_every_variant_is_valid_in_strict_mode(version):
    deployments = {variant: deployed(variant) for variant in VARIANTS}
    assert all(len(d.k8s()) > 30 for d in deployments.values())
    assert schema_problems(deployments, version) == []


@pytest.mark.parametrize("variant", ["default", "http"])
def test_every_object_is_labelled_and_namespaced(variant):
    expected = "observability" if variant == "http" else "error-tracking"  # "http" uses an existing one
    for d in deployed(variant).k8s():
        labels = d.inputs["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "demo", d.name
        assert labels["app.kubernetes.io/instance"] == INSTANCE, d.name
        assert labels["app.kubernetes.io/managed-by"] == "pulumi", d.name
        assert labels["app.kubernetes.io/version"] == "1.0.0", d.name
        assert labels["app.kubernetes.io/component"], d.name
        if d.kind != "Namespace" and d.object_name != "api-sentry":
            assert d.inputs["metadata"]["namespace"] == expected, d.name


def test_selectors_leave_the_version_out_so_an_upgrade_keeps_its_pods():
    result = deployed("default")
    web = result.one("Deployment", "web").inputs
    selector = {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": INSTANCE,
                "app.kubernetes.io/component": "web"}
    assert web["spec"]["selector"]["matchLabels"] == selector
    assert result.one("Service", "web").inputs["spec"]["selector"] == selector


# --- the component, its provider and namespace -------------------------------------------------

def test_the_component_keeps_its_old_type_as_an_alias_and_names_every_child_after_itself():
    result = deployed("default")
    platform = component(result)
    assert platform.options["aliases"] == ["error-tracking:platform:Kubernetes"]
    for d in result.declared:
        if d is not platform:
            assert d.name.startswith(f"{INSTANCE}-"), d.name


@pytest.mark.parametrize("variant", ["default", "render"])
def test_every_object_uses_the_explicit_provider_and_the_component_as_parent(variant):
    result = deployed(variant)
    platform, explicit = component(result), provider(result)
    assert explicit.parent == platform.urn
    for d in [*result.k8s(), *[r for r in result.reads() if r.typ.startswith("kubernetes:")]]:
        assert d.provider.startswith(explicit.urn + "::"), f"{d.typ} {d.name} uses provider {d.provider!r}"
        assert d.parent == platform.urn, f"{d.typ} {d.name} has parent {d.parent!r}"


def test_provider_renders_when_asked_and_updates_configuration_in_place():
    assert provider(deployed("render")).inputs.get("renderYamlToDirectory") == "/tmp/rendered-manifests"
    inputs = provider(deployed("default")).inputs
    assert "renderYamlToDirectory" not in inputs
    # In place: a replaced report Secret would lose what the Job patched into it.
    assert inputs["enableSecretMutable"] == "true" and inputs["enableConfigMapMutable"] == "true"
    assert inputs["enableServerSideApply"] == "true"


def test_kubeconfig_and_context_reach_the_provider_and_the_kubeconfig_stays_secret():
    explicit = provider(deployed("http"))
    assert explicit.inputs["kubeconfig"] == "/home/ops/.kube/prod"
    assert explicit.secret("kubeconfig")
    assert (explicit.inputs["context"], explicit.inputs["namespace"]) == ("prod", "observability")
    assert "kubeconfig" not in provider(deployed("default")).inputs  # the ambient one


def test_namespace_created_unless_disabled_and_everything_in_it_waits_for_it():
    result = deployed("default")
    (namespace,) = result.of_kind("Namespace")
    assert namespace.object_name == "error-tracking"
    for d in result.k8s():
        if d is not namespace and d.inputs["metadata"].get("namespace") == "error-tracking":
            assert namespace.urn in d.dependencies, d.name
    assert deployed("http").of_kind("Namespace") == []  # createNamespace: false


# --- kept data ---------------------------------------------------------------------------------

def test_namespace_and_data_claims_are_kept_when_deleted_and_caches_are_not():
    result = deployed("default")
    kept = {d.object_name for d in result.k8s() if d.options["retain_on_delete"]}
    assert kept == {"error-tracking", "uploads", "backups"}  # the namespace and the data claims
    cache = result.one("PersistentVolumeClaim", "valkey-cache")
    assert cache.options["retain_on_delete"] is False and cache.options["protect"] is False
    assert not [d.name for d in result.k8s() if d.options["protect"]]


def test_the_stacks_protect_setting_protects_the_namespace_and_data_claims_only():
    result = deployed("https-tls-secret")  # protect=True
    protected = {(d.kind, d.object_name) for d in result.k8s() if d.options["protect"]}
    assert protected == {("Namespace", "error-tracking"), ("PersistentVolumeClaim", "uploads"),
                         ("PersistentVolumeClaim", "backups")}
    assert all(d.options["retain_on_delete"] for d in result.k8s() if d.options["protect"])


def test_statefulset_claims_survive_deletion_and_scale_down():
    postgres = deployed("default").one("StatefulSet", "postgres").inputs["spec"]
    assert postgres["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert [t["metadata"]["name"] for t in postgres["volumeClaimTemplates"]] == ["pgdata"]


# --- the reporting task ------------------------------------------------------------------------

def test_reporting_job_alone_gets_an_api_token_allowed_to_patch_only_its_secret():
    result = deployed("default")
    role = result.one("Role", "bootstrap-reporter").inputs
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": ["bootstrap-report"], "verbs": ["get", "patch"]}]
    binding = result.one("RoleBinding", "bootstrap-reporter").inputs
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bootstrap-reporter"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bootstrap-reporter",
                                    "namespace": "error-tracking"}]
    assert result.one("ServiceAccount", "bootstrap-reporter").inputs["automountServiceAccountToken"] is False
    bootstrap = job(result, "bootstrap")
    pod = pod_spec(bootstrap)
    assert pod["serviceAccountName"] == "bootstrap-reporter" and pod["automountServiceAccountToken"] is True
    (container,) = pod["containers"]
    assert container["command"][:2] == ["python3", "-c"]
    assert container["command"][3:] == ["bootstrap-report", "report", REPORT_PREFIX, "--",
                                        "python3", "manage.py", "bootstrap"]
    for d in result.k8s():
        if d.kind in WORKLOAD_KINDS and d is not bootstrap:
            assert pod_spec(d)["automountServiceAccountToken"] is False, d.object_name
            assert "serviceAccountName" not in pod_spec(d), d.object_name
    report_secret = result.one("Secret", "bootstrap-report")
    assert report_secret.inputs.get("stringData") is None and report_secret.inputs.get("data") is None
    assert set(report_secret.options["ignore_changes"]) == {"data", "stringData"}


def test_task_output_is_the_report_read_back_after_the_job_and_secret():
    result = deployed("default")
    assert result.outputs["report"] == REPORT_LINE
    assert "report" in result.secret_outputs
    (read,) = [r for r in result.reads() if r.typ.startswith("kubernetes:")]
    assert read.typ == "kubernetes:core/v1:Secret" and read.resource_id == "error-tracking/bootstrap-report"
    assert job(result, "bootstrap").urn in read.dependencies


def test_task_output_for_a_non_reporting_task_is_refused():
    platform = deployed("default").result[0]
    with pytest.raises(KeyError, match="migrate"):
        platform.task_output("migrate")


@pytest.mark.parametrize("variant", ["render", "preview"])
def test_without_a_cluster_run_the_report_stays_unknown_and_secret(variant):
    result = deployed(variant)
    assert "report" not in result.known_outputs and "report" in result.secret_outputs
    if variant == "render":
        assert result.reads() == []
        # the DSN Secret cannot be rendered without the DSN; the delivery says so
        assert not [d for d in result.of_kind("Secret") if d.object_name == "api-sentry"]
        assert "delivery-api" in result.known_outputs


def test_a_report_secret_left_empty_fails_naming_the_jobs_log():
    from components.platforms.kubernetes.platform import _decode_report

    with pytest.raises(ValueError, match=r"kubectl -n errors logs job/bootstrap-1"):
        _decode_report({}, "errors", "bootstrap-report", "bootstrap-1")


def test_wrapper_passes_logs_through_keeps_the_report_out_and_fails_with_the_task():
    script = f"echo starting; echo '{REPORT_PREFIX}{{\"token\": \"abc\"}}'; echo done; exit %d"

    def wrapped(*command):
        return subprocess.run([sys.executable, "-c", report.WRAPPER, "s", "report", REPORT_PREFIX, "--", *command],
                              capture_output=True, text=True, timeout=10)

    ok = wrapped("sh", "-c", script % 0)
    assert "starting" in ok.stdout and "done" in ok.stdout
    assert '"token"' not in ok.stdout + ok.stderr
    assert "serviceaccount" in ok.stderr  # outside a pod: it got as far as the API call
    failed = wrapped("sh", "-c", script % 7)
    assert failed.returncode == 7 and "exit code 7" in failed.stderr
    silent = wrapped("true")
    assert silent.returncode == 3 and "without printing its report line" in silent.stderr


# --- DSN delivery ------------------------------------------------------------------------------

def test_dsn_is_delivered_as_a_secret_in_the_applications_namespace():
    result = deployed("default")
    secret = result.one("Secret", "api-sentry")
    assert secret.inputs["metadata"]["namespace"] == "shop"
    assert secret.inputs["stringData"] == {"SENTRY_DSN": DSN}
    assert secret.secret("stringData")
    assert result.outputs["delivery-api"] == "secret shop/api-sentry key SENTRY_DSN"
    assert "shop" not in [n.object_name for n in result.of_kind("Namespace")]  # the application's, not ours


def test_a_dsn_secret_in_the_platforms_own_namespace_waits_for_the_namespace():
    result = deployed("https-cluster-issuer")
    secret = result.one("Secret", "api-sentry")
    assert secret.inputs["metadata"]["namespace"] == "error-tracking"
    assert result.one("Namespace", "error-tracking").urn in secret.dependencies


def test_two_projects_into_one_secret_are_refused():
    from components.platforms.kubernetes.settings import KubernetesSecretTarget
    from components.plugins import DsnTarget

    targets = (
        DsnTarget("api", "kubernetesSecret", KubernetesSecretTarget("shop", "sentry", "API_DSN")),
        DsnTarget("web", "kubernetesSecret", KubernetesSecretTarget("shop", "sentry", "WEB_DSN")),
    )
    with pytest.raises(ValueError, match="shop/sentry"):
        deploy(spec=sample_spec(with_postgres=False), dsn_targets=targets)
