"""GlitchTip through the real program on `platform: kubernetes`: the same app description, realized
as valid Kubernetes 1.30 objects, with DSNs read back from the bootstrap Job and delivered as Secrets."""

import kubernetes_validate
import pytest

from tests.harness import deploy, unwrap
from tests.k8s_helpers import api_version

K8S = {
    "platform": "kubernetes",
    "kubernetes": {"namespace": "errors", "ingress": {"className": "nginx", "clusterIssuer": "letsencrypt"},
                   "web": {"replicas": 2, "minReplicas": 2, "maxReplicas": 4}},
    "dsnTargets": [{"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "sentry-dsn"}}],
}
VARIANTS = {
    "production": K8S,
    "external-stores": {**K8S, "databaseUrl": "postgres://gt:pw@db.internal:5432/gt",
                        "valkeyUrl": "rediss://cache.internal:6380/0"},
    "all-in-one-without-valkey": {**K8S, "glitchtip": {"mode": "all-in-one", "valkey": False}},
}


@pytest.fixture(scope="module")
def deployments():
    return {name: deploy(config) for name, config in VARIANTS.items()}


def objects(deployment):
    return [d for d in deployment.declared
            if d.typ.startswith("kubernetes:") and not d.typ.startswith("kubernetes:index")]


def manifest(declared):
    version, kind = api_version(declared.typ)
    body = {k: v for k, v in unwrap(declared.inputs).items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": version, "kind": kind, **body}


def named(deployment, kind, name):
    return next(d for d in objects(deployment) if d.typ.endswith(f":{kind}")
                and unwrap(d.inputs).get("metadata", {}).get("name") == name)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_glitchtip_object_is_valid_kubernetes_1_30(deployments, variant):
    declared = objects(deployments[variant])
    assert len(declared) > 20
    for d in declared:
        if d.inputs.get("metadata") is None and d.typ.endswith(":Secret") and not d.inputs:
            continue  # a read, not an object the program applies
        kubernetes_validate.validate(manifest(d), "1.30.0", strict=True)


def test_glitchtip_services_become_deployments_statefulsets_and_jobs(deployments):
    kinds = {}
    for d in objects(deployments["production"]):
        kinds.setdefault(d.typ.rsplit(":", 1)[1], set()).add(unwrap(d.inputs).get("metadata", {}).get("name"))
    assert {"web", "worker"} <= kinds["Deployment"]
    assert {"postgres", "valkey"} <= kinds["StatefulSet"]
    assert any(name.startswith("migrate-") for name in kinds["Job"])
    assert any(name.startswith("bootstrap-") for name in kinds["Job"])
    assert "backup" in kinds["CronJob"]
    assert {"web", "postgres", "valkey"} <= kinds["Service"]
    assert "web" in kinds["HorizontalPodAutoscaler"] and "web" in kinds["PodDisruptionBudget"]


def test_ingress_serves_the_url_host_with_cert_manager_tls(deployments):
    ingress = manifest(next(d for d in objects(deployments["production"]) if d.typ.endswith(":Ingress")))
    assert ingress["spec"]["rules"][0]["host"] == "errors.example.com"
    assert ingress["spec"]["tls"][0]["hosts"] == ["errors.example.com"]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_dsns_are_read_back_from_the_bootstrap_job_and_delivered_as_a_secret(deployments):
    deployment = deployments["production"]
    assert set(deployment.outputs["dsns"]) == {"api", "web"}
    assert "dsns" in deployment.secret_outputs
    sink = named(deployment, "Secret", "sentry-dsn")
    assert unwrap(sink.inputs)["metadata"]["namespace"] == "shop"
    assert unwrap(sink.inputs)["stringData"] == {"SENTRY_DSN": deployment.outputs["dsns"]["api"]}


def test_external_stores_replace_postgres_and_valkey_in_the_cluster(deployments):
    names = {unwrap(d.inputs).get("metadata", {}).get("name") for d in objects(deployments["external-stores"])}
    assert "postgres" not in names and "valkey" not in names and "backup" not in names


def test_no_secret_value_reaches_a_configmap(deployments):
    deployment = deployments["production"]
    for d in objects(deployment):
        if d.typ.endswith(":ConfigMap"):
            data = unwrap(d.inputs).get("data", {})
            assert not {"SECRET_KEY", "DATABASE_URL", "BOOTSTRAP_ADMIN_PASSWORD", "POSTGRES_PASSWORD"} & set(data)


def test_env_file_targets_are_refused_on_kubernetes():
    with pytest.raises(Exception, match=r"dsnTargets\[0\].envFile: needs platform: docker"):
        deploy({**K8S, "dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env"}}]})


def test_under_preview_the_dsns_stay_unknown_and_nothing_fails():
    previewed = deploy(K8S, preview=True)
    assert previewed.outputs["dsns"] is None
    assert previewed.outputs["url"] == "https://errors.example.com"


def test_render_mode_writes_manifests_and_says_the_dsns_cannot_be_known(tmp_path):
    rendered = deploy({**K8S, "kubernetes": {**K8S["kubernetes"], "renderYamlTo": str(tmp_path)}})
    provider = next(d for d in rendered.declared if d.typ == "pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == str(tmp_path)
    assert rendered.outputs["dsns"] is None
    assert rendered.outputs["dsnDeliveries"] == {"0": "not delivered: rendering manifests only"}
