"""GlitchTip through the real program on `platform: kubernetes`: the same description realized as
valid Kubernetes objects, secrets only in Secrets, DSNs read back from the bootstrap Job and
delivered as Secrets, in update, preview and render modes. Each variant is deployed once."""

from __future__ import annotations

import pytest

from tests.harness import deploy
from tests.k8s_helpers import SCHEMA_VERSIONS, containers, in_clear, job, pod_spec, schema_problems

MAIL_PASSWORD = "SeCrEt"
MARKER = "marker-123"
K8S = {
    "platform": "kubernetes",
    # web and worker share the uploads claim: ReadWriteMany.
    "kubernetes": {"namespace": "errors", "sharedStorageClass": "nfs-rwx",
                   "ingress": {"className": "nginx", "clusterIssuer": "letsencrypt",
                               "controllerNamespace": "ingress-nginx"},
                   "autoscaling": {"web": {"minReplicas": 2, "maxReplicas": 4}}},
    # Four web replicas' connection pools need a larger Postgres than the small-host default.
    "glitchtip": {"replicas": {"web": 2}, "maxReplicas": {"web": 4}, "resources": {"postgres": {"memoryMb": 256}},
                  "emailUrl": f"smtp+tls://u:{MAIL_PASSWORD}@mail.example.com:587"},
    "dsnTargets": [{"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "sentry-dsn"}}],
}
VARIANTS = {
    "production": dict(overrides=K8S, secret_keys=("glitchtip",)),
    # No Postgres runs here, so none is sized (a size for it would be refused as unused).
    "external-stores": dict(overrides={**K8S,
                                       "glitchtip": {k: v for k, v in K8S["glitchtip"].items() if k != "resources"},
                                       "databaseUrl": "postgres://gt:pw@db.internal:5432/gt",
                                       "valkeyUrl": "rediss://:pw@cache.internal:6380/0"},
                            secret_keys=("databaseUrl", "valkeyUrl", "glitchtip")),
    "all-in-one-without-valkey": dict(overrides={**K8S, "kubernetes": {"sharedStorageClass": "nfs-rwx",
                                                                       "ingress": {"controllerNamespace": "ingress"}},
                                                 "glitchtip": {"mode": "all-in-one",
                                                                                        "valkey": False}}),
    # `pulumi config set --secret --path glitchtip.env.MY_VAR`: Pulumi only says `glitchtip` holds a secret.
    "secret-glitchtip": dict(overrides={**K8S, "glitchtip": {**K8S["glitchtip"], "env": {"MY_VAR": MARKER}}},
                             secret_keys=("glitchtip",)),
    "preview": dict(overrides=K8S, preview=True, secret_keys=("glitchtip",)),
}
# What the mocks' RandomPassword answers: the hex secrets (SECRET_KEY, passwords, the API token)
# and the admin password. None of them may be readable anywhere.
GENERATED = ("0123456789abcdef" * 2, "aB3" * 8)
APP_WORKLOADS = ("web", "worker", "migrate", "bootstrap")


@pytest.fixture(scope="module")
def deployments():
    return {name: deploy(**options) for name, options in VARIANTS.items()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("manifests"))
    return directory, deploy({**K8S, "kubernetes": {**K8S["kubernetes"], "renderYamlTo": directory}},
                              secret_keys=("glitchtip",))


def app_pod(deployment, name):
    return pod_spec(job(deployment, name) if name in ("migrate", "bootstrap") else deployment.one("Deployment", name))


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_glitchtip_object_of_every_variant_is_valid_in_strict_mode(deployments, rendered, version):
    every = {**deployments, "render": rendered[1]}
    assert all(len(d.k8s()) > 25 for d in every.values())
    assert schema_problems(every, version) == []


def test_glitchtip_services_become_deployments_statefulsets_jobs_and_cronjobs(deployments):
    production = deployments["production"]
    spec = production.result.app.spec
    kinds: dict[str, set] = {}
    for d in production.k8s():
        kinds.setdefault(d.kind, set()).add(d.object_name)
    assert kinds["Deployment"] == {"web", "worker"} == {s.name for s in spec.services if not s.stateful}
    assert kinds["StatefulSet"] == {"postgres", "valkey"} == {s.name for s in spec.services if s.stateful}
    assert {n.rsplit("-", 1)[0] for n in kinds["Job"]} == {t.name for t in spec.tasks} >= {"migrate", "bootstrap"}
    assert kinds["CronJob"] == {t.name for t in spec.scheduled} >= {"backup"}
    assert {"web", "postgres", "valkey"} <= kinds["Service"]
    assert kinds["HorizontalPodAutoscaler"] == {"web"} and kinds["PodDisruptionBudget"] == {"web"}
    assert "replicas" not in production.one("Deployment", "web").inputs["spec"]


def test_ingress_serves_the_url_host_with_cert_manager_tls_and_glitchtips_upload_sizes(deployments):
    ingress = deployments["production"].one("Ingress", "glitchtip").inputs
    assert ingress["spec"]["rules"][0]["host"] == "errors.example.com"
    assert ingress["spec"]["tls"][0]["hosts"] == ["errors.example.com"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt",
                                                  "nginx.ingress.kubernetes.io/proxy-body-size": "100m"}


# --- secrets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_secret_is_ever_in_clear(deployments, variant):
    text = in_clear(deployments[variant])
    assert [v for v in (*GENERATED, MAIL_PASSWORD, MARKER, "db.internal", "cache.internal") if v in text] == []


def test_a_value_from_a_secret_glitchtip_section_reaches_the_pods_only_through_a_secret(deployments):
    deployment = deployments["secret-glitchtip"]
    for name in APP_WORKLOADS:
        secret = deployment.one("Secret", f"{name}-env")
        assert secret.inputs["stringData"]["MY_VAR"] == MARKER and secret.secret("stringData"), name
        assert "MY_VAR" not in deployment.one("ConfigMap", f"{name}-env").inputs["data"], name
    config_maps = [c for c in deployment.k8s() if c.kind == "ConfigMap"]
    assert config_maps and not [c.object_name for c in config_maps if MARKER in str(c.inputs)]


def test_email_url_with_its_password_comes_from_the_env_secret(deployments):
    production = deployments["production"]
    for name in APP_WORKLOADS:
        secret = production.one("Secret", f"{name}-env")
        assert secret.inputs["stringData"]["EMAIL_URL"] == f"smtp+tls://u:{MAIL_PASSWORD}@mail.example.com:587"
        assert "EMAIL_URL" not in production.one("ConfigMap", f"{name}-env").inputs["data"], name
        assert {"secretRef": {"name": f"{name}-env"}} in containers(
            job(production, name) if name in ("migrate", "bootstrap") else production.one("Deployment", name)
        )[0]["envFrom"], name
    # without mail configured, the console backend is plain configuration
    plain = deployments["all-in-one-without-valkey"].one("ConfigMap", "web-env").inputs["data"]
    assert plain["EMAIL_URL"] == "consolemail://"


@pytest.mark.parametrize("variable, path, secret", [
    ("SECRET_KEY_FILE", "/run/secrets/glitchtip/secret-key", "glitchtip-secret-key"),
    ("DATABASE_URL_FILE", "/run/secrets/glitchtip/database-url", "glitchtip-database-url"),
    ("VALKEY_URL_FILE", "/run/secrets/glitchtip/valkey-url", "glitchtip-valkey-url"),
])
def test_glitchtip_reads_its_secrets_from_files_mounted_from_secrets(deployments, variable, path, secret):
    production = deployments["production"]
    assert production.one("Secret", secret).secret("stringData")
    assert not [c for c in production.of_kind("ConfigMap") if c.object_name == secret]
    for name in APP_WORKLOADS:
        assert production.one("ConfigMap", f"{name}-env").inputs["data"][variable] == path, name
        pod = app_pod(production, name)
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == path]
        assert mount["readOnly"] is True and mount["subPath"] == "content", name
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == secret, name


def test_postgres_and_valkey_read_their_passwords_from_secret_files(deployments):
    production = deployments["production"]
    postgres = production.one("StatefulSet", "postgres")
    assert production.one("ConfigMap", "postgres-env").inputs["data"]["POSTGRES_PASSWORD_FILE"] == \
        "/run/secrets/postgres-password"
    assert {"name": "file-0", "secret": {"secretName": "postgres-password", "defaultMode": 0o440,
                                         "items": [{"key": "content", "path": "content"}]}} in pod_spec(postgres)["volumes"]
    assert production.one("Secret", "valkey-conf").secret("stringData")
    assert production.one("Secret", "valkey-env").secret("stringData")


# --- a closed namespace ------------------------------------------------------------------------

def test_glitchtip_pods_reach_their_stores_mail_and_nothing_they_do_not_use(deployments):
    production = deployments["production"]

    def allowed(name):
        rules = production.one("NetworkPolicy", f"{name}-traffic").inputs["spec"]["egress"]
        return {p["port"] for rule in rules for p in rule["ports"]}

    assert allowed("web") == {53, 5432, 6379, 587, 80, 443}
    assert allowed("bootstrap") == {53, 5432, 6379, 587, 80, 443, 6443, 16443}
    assert allowed("postgres") == {53} and allowed("valkey") == {53}
    external = deployments["external-stores"].one("NetworkPolicy", "web-traffic").inputs["spec"]["egress"]
    assert {p["port"] for rule in external for p in rule["ports"]} == {53, 5432, 6380, 587, 80, 443}


def test_external_stores_replace_postgres_valkey_and_the_backup_in_the_cluster(deployments):
    names = {d.object_name for d in deployments["external-stores"].k8s()}
    assert not names & {"postgres", "valkey", "backup", "postgres-data", "valkey-data", "backups"}


# --- DSNs and modes ----------------------------------------------------------------------------

def test_dsns_are_read_back_from_the_bootstrap_job_and_delivered_as_a_secret(deployments):
    production = deployments["production"]
    assert set(production.outputs["dsns"]) == {"api", "web"}
    assert "dsns" in production.secret_outputs
    sink = production.one("Secret", "sentry-dsn")
    assert sink.inputs["metadata"]["namespace"] == "shop"
    assert sink.inputs["stringData"] == {"SENTRY_DSN": production.outputs["dsns"]["api"]}
    assert sink.secret("stringData")
    assert production.outputs["dsnDeliveries"] == {"0": "secret shop/sentry-dsn key SENTRY_DSN"}
    (read,) = production.reads()
    assert read.resource_id == "errors/bootstrap-report" and job(production, "bootstrap").urn in read.dependencies


def test_env_file_targets_are_refused_on_kubernetes():
    with pytest.raises(Exception, match=r"dsnTargets\[0\].envFile: needs platform: docker"):
        deploy({**K8S, "dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env"}}]},
               secret_keys=("glitchtip",))


def test_under_preview_the_dsns_stay_unknown_and_nothing_fails(deployments):
    previewed = deployments["preview"]
    assert "dsns" not in previewed.known_outputs and "dsns" in previewed.secret_outputs
    assert {"url", "adminEmail", "organization"} <= previewed.known_outputs
    assert {d.object_name for d in previewed.of_kind("Deployment")} == {"web", "worker"}


def test_render_mode_writes_manifests_and_says_the_dsns_cannot_be_known(rendered):
    directory, deployment = rendered
    provider = next(d for d in deployment.declared if d.typ == "pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == directory
    assert "dsns" not in deployment.known_outputs
    assert "dsnDeliveries" in deployment.known_outputs  # "not delivered: rendering manifests only"
    assert deployment.reads() == [] and not [s for s in deployment.of_kind("Secret") if s.object_name == "sentry-dsn"]
