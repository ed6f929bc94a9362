"""Self-hosted Sentry on `platform: kubernetes`, its secrets, edge, probes, limits, pod security,
network policies and storage (the variants: tests/sentry_kubernetes_cases.py).
"""

from __future__ import annotations

import pytest

from components.apps.sentry import catalog
from components.apps.sentry import services as sentry_services
from components.apps.sentry.settings import SentrySettings
from tests.harness import deploy
from tests.secret_values import plain_strings
from tests.k8s_helpers import containers, in_clear, pod_spec, workloads
from tests.sentry_kubernetes_cases import (
    BASE,
    EXTERNAL_PASSWORDS,
    GENERATED,
    HOST,
    KAFKA,
    MAIL_PASSWORD,
    PG,
    POD_CIDR,
    names,
    spec_of,
)

# --- secrets, edge, probes, limits, security -----------------------------------------------------

@pytest.mark.parametrize("variant", ["errors-only", "feature-complete", "preview"])
def test_no_secret_is_ever_in_clear_and_none_in_a_config_map(deployments, variant):
    deployment = deployments[variant]
    secrets = (*GENERATED, MAIL_PASSWORD, *EXTERNAL_PASSWORDS)
    assert [v for v in secrets if v in in_clear(deployment)] == []
    for config in deployment.of_kind("ConfigMap"):
        assert not [v for v in secrets for s in plain_strings(config.raw) if v in s], config.object_name
        assert config.object_name != "redis-conf" and not config.object_name.endswith("-report")
    if variant == "feature-complete":  # the operator's passwords reached the pods, through Secrets
        env = deployment.one("Secret", "web-env").inputs["stringData"]
        assert PG in env.values() and KAFKA in env.values()


def test_the_ingress_serves_the_url_with_tls_from_the_issuer_to_nginx_with_upstreams_body_size(deployments):
    ingress = deployments["errors-only"].one("Ingress", "sentry").inputs
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod",
                                                  "nginx.ingress.kubernetes.io/proxy-body-size": "100m"}
    assert ingress["spec"]["tls"] == [{"hosts": [HOST], "secretName": "sentry-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == HOST
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix",
                                      "backend": {"service": {"name": "nginx", "port": {"number": 8080}}}}]


def test_probes_come_from_upstreams_health_checks_consumers_liveness_only(deployments):
    deployment = deployments["errors-only"]
    web = containers(deployment.one("Deployment", "web"))[0]
    assert web["readinessProbe"]["httpGet"] == {"path": "/_health/", "port": 9000} == web["livenessProbe"]["httpGet"]
    snuba = containers(deployment.one("Deployment", "snuba-api"))[0]
    assert snuba["readinessProbe"]["httpGet"] == {"path": "/health", "port": 1218}
    for name in ("events-consumer", "snuba-errors-consumer", "post-process-forwarder-errors"):
        consumer = containers(deployment.one("Deployment", name))[0]
        assert "readinessProbe" not in consumer, name  # a second probe would eat the heartbeat file
        assert "/tmp/health.txt" in consumer["livenessProbe"]["exec"]["command"][-1], name
        assert consumer["livenessProbe"]["periodSeconds"] == 60 and consumer["livenessProbe"]["failureThreshold"] == 3
    postgres = containers(deployment.one("StatefulSet", "postgres"))[0]
    assert postgres["readinessProbe"]["exec"]["command"] == ["sh", "-c", "pg_isready -U postgres"]
    for name in ("taskscheduler",):  # upstream checks none (sentry-cleanup is a CronJob here)
        assert not {"startupProbe", "readinessProbe", "livenessProbe"} & set(
            containers(deployment.one("Deployment", name))[0]), name


def test_relay_gets_traffic_once_ready_and_is_restarted_only_when_not_alive(deployments):
    relay = containers(deployments["errors-only"].one("Deployment", "relay"))[0]
    assert relay["readinessProbe"]["httpGet"] == {"path": "/api/relay/healthcheck/ready/", "port": 3000}
    # A Relay still registering with web is alive: neither a slow start nor a wait is a restart.
    for probe in ("livenessProbe", "startupProbe"):
        assert relay[probe]["httpGet"] == {"path": "/api/relay/healthcheck/live/", "port": 3000}, probe


def test_taskbroker_is_probed_through_grpc_health_for_its_own_service(deployments):
    broker = containers(deployments["errors-only"].one("StatefulSet", "taskbroker"))[0]
    expected = {"port": 50051, "service": "sentry_protos.taskbroker.v1.ConsumerService"}
    assert broker["readinessProbe"]["grpc"] == broker["livenessProbe"]["grpc"] == broker["startupProbe"]["grpc"] \
        == expected


@pytest.mark.parametrize("variant, ceiling", [("errors-only", 7000), ("feature-complete", 14000)])
def test_every_container_has_limits_and_running_services_requests_fit_upstreams_host_minimum(
        deployments, variant, ceiling):
    deployment = deployments[variant]
    requested = limited = 0
    for name, d in workloads(deployment).items():
        for container in containers(d):
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert limits["memory"].endswith("Mi") and limits["cpu"].endswith("m"), name
            assert int(requests["memory"][:-2]) <= int(limits["memory"][:-2]), name
            if d.kind in ("Deployment", "StatefulSet"):
                replicas = d.inputs["spec"].get("replicas", 1)
                requested += int(requests["memory"][:-2]) * replicas
                limited += int(limits["memory"][:-2]) * replicas
    # What the scheduler reserves fits the host minimum; the limits (caps for bursts) need not.
    assert 0 < requested <= ceiling < limited


def test_first_party_images_run_as_their_numeric_non_root_users(deployments):
    expected = {"relay": 65532, "symbolicator": 65532, "taskbroker": 1000, "vroom": 1000, "uptime-checker": 1000,
                "launchpad-taskworker": 1000, "web": 999, "snuba-api": 1000}
    for name, uid in expected.items():
        pod = pod_spec(workloads(deployments["feature-complete"])[name])
        context = pod["containers"][0]["securityContext"]
        assert (context["runAsNonRoot"], context["runAsUser"], context["runAsGroup"]) == (True, uid, uid), name
        assert pod["securityContext"]["fsGroup"] == uid, name


@pytest.mark.parametrize("variant", ["errors-only", "feature-complete"])
def test_every_pod_is_non_root_with_a_numeric_user_unless_its_image_must_start_as_root(deployments, variant):
    roots = {n for n in catalog.CATALOG if sentry_services.image_of(n, SentrySettings()).root}
    for name, d in workloads(deployments[variant]).items():
        context = pod_spec(d)["containers"][0]["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"], name
        if name in roots:
            assert context["runAsNonRoot"] is False and "runAsUser" not in context, name
        else:
            # Kubernetes cannot verify a named image USER as non-root: every such pod names its uid.
            assert context["runAsNonRoot"] is True and isinstance(context.get("runAsUser"), int), name
            assert "add" not in context["capabilities"], name
    # Every image runs as its own user: nginx's unprivileged variant, the stores from the start.
    assert roots == set()


def test_a_default_deny_namespace_with_one_allow_policy_per_workload(deployments):
    deployment = deployments["errors-only"]
    deny = deployment.one("NetworkPolicy", "default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    every = set(workloads(deployment))
    # and, with cert-manager issuing the certificate, one for its HTTP-01 solver pods
    assert names(deployment, "NetworkPolicy") == {"default-deny", "acme-http01-solver-traffic"} | {
        f"{w}-traffic" for w in every}
    nginx = deployment.one("NetworkPolicy", "nginx-traffic").inputs["spec"]["ingress"]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"port": 8080, "protocol": "TCP"}]} in nginx
    (rule,) = deployment.one("NetworkPolicy", "postgres-traffic").inputs["spec"]["ingress"]
    clients = rule["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    # Sentry reaches Postgres through pgbouncer only; what else may is what the description says.
    assert "pgbouncer" in clients and "web" not in clients
    assert clients == sorted(spec_of(deployment).clients_of("postgres"))


def test_sentry_treats_the_pod_network_as_internal_so_symbolicators_system_token_works(deployments):
    # A secret `sentry` section (the mail password) makes every rendered file a Secret.
    conf = deployments["errors-only"].one("Secret", "sentry-conf-py").inputs["stringData"]["content"]
    assert f"INTERNAL_SYSTEM_IPS = ({POD_CIDR!r},)" in conf


def test_no_volume_is_shared_but_the_backups_and_the_stores_stay_on_block_storage(deployments):
    deployment = deployments["feature-complete"]
    # Files in the S3 store, caches in each pod: no claim at all for sentry-data or Symbolicator.
    claims = {c.object_name: c.inputs["spec"] for c in deployment.of_kind("PersistentVolumeClaim")}
    assert not {"sentry-data", "sentry-symbolicator"} & set(claims)
    assert all(spec["accessModes"] == ["ReadWriteOnce"] for spec in claims.values()), claims
    assert {"name": "sentry-data", "emptyDir": {"sizeLimit": "20Gi"}} in pod_spec(deployment.one("Deployment", "web"))[
        "volumes"]
    # With the bundled ClickHouse its server and the backup jobs share the backups claim on its node.
    backups = deployments["errors-only"].one("PersistentVolumeClaim", "backups").inputs["spec"]
    assert backups["accessModes"] == ["ReadWriteOnce"] and "storageClassName" not in backups
    (template,) = deployment.one("StatefulSet", "taskbroker").inputs["spec"]["volumeClaimTemplates"]
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"] and template["spec"]["storageClassName"] == "fast-ssd"


def test_caches_and_logs_of_one_service_live_in_its_pods_not_in_claims(deployments):
    deployment = deployments["feature-complete"]
    claims = names(deployment, "PersistentVolumeClaim")
    assert not {"sentry-nginx-cache", "sentry-nginx-www", "sentry-kafka-log", "sentry-clickhouse-log"} & claims
    nginx = deployment.one("Deployment", "nginx").inputs["spec"]["template"]["spec"]["volumes"]
    assert {v["name"]: "emptyDir" in v for v in nginx}["sentry-nginx-cache"]


def test_external_stores_are_reached_only_at_the_addresses_the_operator_gave(deployments):
    egress = deployments["feature-complete"].one("NetworkPolicy", "snuba-api-traffic").inputs["spec"]["egress"]
    blocks = {tuple(p["port"] for p in r["ports"]): [t["ipBlock"]["cidr"] for t in r["to"]]
              for r in egress if "ipBlock" in r["to"][0]}
    assert blocks[(9440, 8443)] == ["10.20.3.0/24"] and blocks[(9096,)] == ["10.20.2.0/24"]


@pytest.mark.parametrize("kubernetes, key, message", [
    ({"gateway": {"name": "public", "namespace": "gateway-system"}, "ingress": {"className": "nginx"}},
     "kubernetes.ingress", "cannot be combined with kubernetes.gateway"),
    ({"gateway": {"namespace": "gateway-system"}}, "kubernetes.gateway.name", "is required"),
    ({"gateway": {"name": "public", "namespace": "Gateway_System"}}, "kubernetes.gateway.namespace", "must be"),
    ({"gateway": {"name": "public", "namespace": "gw", "listener": "https"}}, "kubernetes.gateway.listener", ""),
])
def test_gateway_settings_are_refused_by_their_full_key(kubernetes, key, message):
    with pytest.raises(Exception) as error:
        deploy({**BASE, "kubernetes": kubernetes})
    assert f"error-tracking:{key}: {message}" in str(error.value)
