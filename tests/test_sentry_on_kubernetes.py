"""Self-hosted Sentry through the real program on `platform: kubernetes`: the same catalog and install
steps as on Docker, realized by the app-agnostic Kubernetes platform (the variants:
tests/sentry_kubernetes_cases.py). Secrets, the edge, probes, limits and pod security:
test_sentry_on_kubernetes_security.py.
"""

from __future__ import annotations

import json
import re

import pytest

from components.apps.sentry import catalog, images, topics
from tests.harness import Deployment, deploy
from tests.k8s_helpers import SCHEMA_VERSIONS, containers, schema_problems, workloads
from tests.sentry_kubernetes_cases import BASE, HOST, INSTALL_ORDER, STORES, config_map, names, spec_of

# --- valid objects ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_object_of_every_variant_is_valid_kubernetes_in_strict_mode(deployments, version):
    # kubernetes-validate knows no custom resources: the HTTPRoute is checked against its CRD below.
    builtin = {name: Deployment(declared=[d for d in found.declared if d.kind != "HTTPRoute"])
               for name, found in deployments.items()}
    assert all(len(d.k8s()) > 150 for d in builtin.values())
    assert schema_problems(builtin, version) == []


# gateway.networking.k8s.io/v1 HTTPRoute, from kubernetes-sigs/gateway-api@v1.6.1:
# config/crd/standard/gateway.networking.k8s.io_httproutes.yaml (standard channel, version v1):
# the fields each object may have, those it must have, and the patterns of the ones we set.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HTTPROUTE_V1 = {
    "spec": ({"hostnames", "parentRefs", "rules"}, set()),
    "parentRefs[]": ({"group", "kind", "name", "namespace", "port", "sectionName"}, {"name"}),
    "rules[]": ({"backendRefs", "filters", "matches", "name", "timeouts"}, set()),
    "matches[]": ({"headers", "method", "path", "queryParams"}, set()),
    "path": ({"type", "value"}, set()),
    # A Service backend (no group, kind Service) must name its port (the CRD's x-kubernetes-validations).
    "backendRefs[]": ({"filters", "group", "kind", "name", "namespace", "port", "weight"}, {"name", "port"}),
}
HTTPROUTE_PATTERNS = {
    "hostname": r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    "namespace": DNS_LABEL, "sectionName": DNS_SUBDOMAIN, "group": r"^$|" + DNS_SUBDOMAIN,
    "kind": r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
}
PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")


def httproute_problems(route: dict) -> list[str]:
    """What the HTTPRoute CRD (table above) would refuse in `route`."""
    problems = []

    def fields(where: str, value: dict) -> None:
        allowed, required = HTTPROUTE_V1[where]
        problems.extend(f"{where}: unknown field {k}" for k in set(value) - allowed)
        problems.extend(f"{where}: missing {k}" for k in required - set(value))

    if (route.get("apiVersion"), route.get("kind")) != ("gateway.networking.k8s.io/v1", "HTTPRoute"):
        problems.append(f"not a gateway.networking.k8s.io/v1 HTTPRoute: {route.get('apiVersion')} {route.get('kind')}")
    spec = route["spec"]
    fields("spec", spec)
    for host in spec.get("hostnames", []):
        if not re.match(HTTPROUTE_PATTERNS["hostname"], host) or len(host) > 253:
            problems.append(f"hostname {host!r}")
    for parent in spec.get("parentRefs", []):
        fields("parentRefs[]", parent)
        for key in ("namespace", "sectionName", "group", "kind"):
            if key in parent and not re.match(HTTPROUTE_PATTERNS[key], parent[key]):
                problems.append(f"parentRefs[].{key} {parent[key]!r}")
    for rule in spec.get("rules", []):
        fields("rules[]", rule)
        for match in rule.get("matches", []):
            fields("matches[]", match)
            path = match.get("path", {})
            fields("path", path)
            if path.get("type") not in PATH_TYPES or not path.get("value", "/").startswith("/"):
                problems.append(f"path {path}")
        for backend in rule.get("backendRefs", []):
            fields("backendRefs[]", backend)
            if "port" in backend and (not isinstance(backend["port"], int) or not 1 <= backend["port"] <= 65535):
                problems.append(f"backendRefs[].port {backend.get('port')!r}")
    return problems


def test_the_gateway_variant_routes_the_url_host_to_nginx_with_one_httproute_of_the_v1_crds_shape(deployments):
    deployment = deployments["feature-complete"]
    (route,) = deployment.of_kind("HTTPRoute")
    assert route.typ == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
    assert httproute_problems(route.inputs) == []
    assert route.inputs["spec"] == {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public",
                        "namespace": "gateway-system", "sectionName": "https"}],
        "hostnames": [HOST],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "backendRefs": [{"name": "nginx", "port": 8080}]}],
    }
    assert route.inputs["metadata"]["namespace"] == "sentry"
    assert deployment.one("Deployment", "nginx").urn in route.dependencies
    assert deployment.of_kind("Ingress") == [] and deployments["errors-only"].of_kind("HTTPRoute") == []
    # The table catches what the CRD refuses.
    broken = json.loads(json.dumps(route.inputs))
    broken["spec"]["rules"][0]["backendRefs"][0].pop("port")
    broken["spec"]["parentRefs"][0]["listener"] = "https"
    assert sorted(httproute_problems(broken)) == ["backendRefs[]: missing port", "parentRefs[]: unknown field listener"]


def test_the_gateways_proxies_alone_may_reach_nginx(deployments):
    rules = deployments["feature-complete"].one("NetworkPolicy", "nginx-traffic").inputs["spec"]["ingress"]
    edge = [r for r in rules if any("namespaceSelector" in source for source in r["from"])]
    gateway = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}}}
    assert edge == [{"from": [gateway], "ports": [{"port": 8080, "protocol": "TCP"}]}]


# --- workloads -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant, profile, outside", [
    ("errors-only", "errors-only", set()),
    ("feature-complete", "feature-complete", STORES),
])
def test_statefulsets_exactly_for_the_stores_and_one_deployment_per_other_upstream_service(
        deployments, variant, profile, outside):
    deployment = deployments[variant]
    upstream = set(catalog.service_names(profile))
    # The stores run as StatefulSets with their claims, unless sentry.external.* replaces them;
    # taskbroker keeps its in-flight tasks in SQLite on its own claim, as upstream's volume does.
    stateful = (STORES - outside) | {"taskbroker"}
    assert names(deployment, "StatefulSet") == stateful
    # sentry cleanup runs as a CronJob, as the community chart does (tests/test_sentry_cleanup.py);
    # Symbolicator's cleaner runs in Symbolicator's pods (its cache is theirs); with sentry.mail set
    # (errors-only) the bundled smtp relay is not deployed.
    unused = {"smtp"} if variant == "errors-only" else set()
    assert names(deployment, "Deployment") == upstream - stateful - outside - {"sentry-cleanup", "symbolicator-cleanup"} \
        - unused
    for d in deployment.of_kind("Deployment") + deployment.of_kind("StatefulSet"):
        container = containers(d)[0]
        assert container["name"] == d.object_name
        assert len(containers(d)) == (2 if d.object_name == "symbolicator" else 1)
        assert re.search(r"(:[\w.-]*\d[\w.-]*|@sha256:[0-9a-f]{64})$", container["image"]) or \
            container["image"] == images.IMAGES["smtp"].reference, container["image"]


def consumer_bounds(deployment: Deployment) -> dict[str, int]:
    """Each consuming service's bound: the fewest partitions among the topics it reads, as the
    topic-creating Job declares them."""
    created = json.loads(config_map(deployment, "create-kafka-topics-env")["KAFKA_TOPICS"])
    partitions = {t["name"]: t["partitions"] for t in created}
    return {s.name: min(partitions[t] for t in topics.SERVICE_TOPICS[s.name].consumes)
            for s in spec_of(deployment).services if topics.SERVICE_TOPICS[s.name].consumes}


@pytest.mark.parametrize("variant", ["errors-only", "feature-complete"])
def test_no_consumer_runs_or_scales_above_the_partitions_of_its_topics(deployments, variant):
    deployment = deployments[variant]
    bounds = consumer_bounds(deployment)
    hpas = {h.object_name: h.inputs["spec"]["maxReplicas"] for h in deployment.of_kind("HorizontalPodAutoscaler")}
    running = workloads(deployment)
    assert len(bounds) >= (10 if variant == "errors-only" else 35)
    for name, bound in bounds.items():
        most = hpas.get(name, running[name].inputs["spec"].get("replicas"))
        assert most is not None and most <= bound, (name, most, bound)
    if variant == "feature-complete":
        assert bounds["events-consumer"] == 4 and hpas == {"web": 6, "events-consumer": 4}


@pytest.mark.parametrize("name", ["taskscheduler", "monitors-clock-tick", "snuba-subscription-consumer-events",
                                  "snuba-subscription-consumer-transactions"])
def test_singletons_run_exactly_one_replica_replaced_never_surged(deployments, name):
    deployment = deployments["feature-complete"]
    spec = deployment.one("Deployment", name).inputs["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert name not in names(deployment, "HorizontalPodAutoscaler") | names(deployment, "PodDisruptionBudget")


@pytest.mark.parametrize("overrides, key, message", [
    ({"workers": {"replicas": {"monitors-clock-tick": 2}}}, "sentry.workers.replicas.monitors-clock-tick",
     "is bounded by its Kafka topics (monitors-clock-tick) to 1; got 2"),
    ({"workers": {"replicas": {"taskscheduler": 2}}}, "sentry.workers.replicas.taskscheduler",
     "runs a single replica; got 2"),
])
def test_replicas_above_a_services_bound_are_refused_by_their_full_key(overrides, key, message):
    with pytest.raises(Exception) as error:
        deploy({**BASE, "sentry": {"profile": "feature-complete", **overrides}})
    assert f"error-tracking:{key}: {message}" in str(error.value)


@pytest.mark.parametrize("replicas, autoscaling, key, message", [
    ({}, {"events-consumer": {"maxReplicas": 4}}, "kubernetes.autoscaling.events-consumer",
     "sentry runs at most one 'events-consumer'"),
    ({"events-consumer": 2}, {"events-consumer": {"maxReplicas": 4}},
     "kubernetes.autoscaling.events-consumer.maxReplicas", "must be at most 2"),
    ({}, {"monitors-clock-tick": {"maxReplicas": 2}}, "kubernetes.autoscaling.monitors-clock-tick",
     "sentry runs at most one 'monitors-clock-tick'"),
])
def test_autoscaling_above_a_consumers_partitions_is_refused_by_its_full_key(replicas, autoscaling, key, message):
    with pytest.raises(Exception) as error:
        deploy({**BASE, "kubernetes": {"autoscaling": autoscaling},
                "sentry": {"profile": "feature-complete", "workers": {"replicas": replicas}}})
    assert f"error-tracking:{key}: {message}" in str(error.value)


def test_disruption_budgets_exactly_for_services_that_keep_more_than_one_replica(deployments):
    assert names(deployments["feature-complete"], "PodDisruptionBudget") == {"web", "events-consumer", "relay"}
    assert deployments["feature-complete"].one("Deployment", "relay").inputs["spec"]["replicas"] == 2
    assert names(deployments["errors-only"], "PodDisruptionBudget") == set()


# --- install Jobs ------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["errors-only", "preview", "feature-complete"])
def test_install_jobs_run_in_upstreams_order_and_services_wait_for_theirs(deployments, variant):
    """In update and preview modes (and rendered: the same objects)."""
    deployment = deployments[variant]
    found = workloads(deployment)
    jobs = {n: d for n, d in found.items() if d.kind == "Job" and n in INSTALL_ORDER}
    assert set(jobs) == set(INSTALL_ORDER)
    # Each step waits for the one before it (other one-shots, such as a backup before the
    # migrations, may run in between).
    for before, after in zip(INSTALL_ORDER, INSTALL_ORDER[1:]):
        assert jobs[before].urn in waited_for(deployment, jobs[after]), (before, after)
    waits = {"web": "sentry-upgrade", "events-consumer": "sentry-upgrade", "taskworker": "sentry-upgrade",
             "snuba-errors-consumer": "snuba-bootstrap", "snuba-api": "snuba-bootstrap", "relay": "create-kafka-topics"}
    for service, step in waits.items():
        assert jobs[step].urn in found[service].dependencies, (service, step)
    assert not [j for j in jobs.values() if j.urn in found["nginx"].dependencies]  # nginx waits for web only
    if variant != "feature-complete":
        assert not [j for j in jobs.values() if j.urn in waited_for(deployment, found["postgres"])]
    assert jobs["sentry-upgrade"].inputs["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "sentry", "upgrade", "--noinput", "--create-kafka-topics"]


def waited_for(deployment: Deployment, resource) -> set[str]:
    """Every URN `resource` waits for, directly or through what it waits for."""
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(deployment.by_urn(urn).dependencies)
    return seen


def test_services_get_pulumi_wait_long_enough_for_their_slowest_allowed_start(deployments):
    deployment = deployments["errors-only"]
    for name in ("events-consumer", "snuba-errors-consumer", "web"):
        startup = containers(deployment.one("Deployment", name))[0]["startupProbe"]
        window = startup["periodSeconds"] * startup["failureThreshold"]
        timeout = deployment.one("Deployment", name).options["custom_timeouts"]
        assert timeout and int(timeout.rstrip("s")) > window, (name, timeout, window)
    assert deployment.one("Deployment", "relay").options["custom_timeouts"] is None  # no check: Pulumi's default


# --- DSNs and modes -----------------------------------------------------------------------------

def test_the_backends_dsn_lands_in_scenario_4s_secret_in_its_application_namespace(deployments):
    deployment = deployments["errors-only"]
    sink = deployment.one("Secret", "sentry-credentials")
    assert sink.inputs["metadata"]["namespace"] == "shop" and sink.secret("stringData")
    dsn = deployment.outputs["dsns"]["backend"]
    assert sink.inputs["stringData"] == {"dsn": dsn}
    assert re.fullmatch(rf"https://[0-9a-f]{{32}}@{re.escape(HOST)}/\d+", dsn)
    assert deployment.outputs["dsnDeliveries"] == {"0": "secret shop/sentry-credentials key dsn"}
    assert {"dsns", "authToken", "adminPassword"} <= deployment.secret_outputs


def test_under_preview_nothing_fails_and_the_dsns_stay_unknown(deployments):
    previewed = deployments["preview"]
    assert "dsns" not in previewed.known_outputs and "dsns" in previewed.secret_outputs
    assert names(previewed, "Deployment") == names(deployments["errors-only"], "Deployment")


def test_render_mode_writes_every_manifest_and_says_the_dsns_cannot_be_known(deployments):
    rendered = deployments["feature-complete"]
    provider = next(d for d in rendered.declared if d.typ == "pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"]
    assert "dsns" not in rendered.known_outputs
    assert not [r for r in rendered.reads() if r.typ.startswith("kubernetes:")]  # nothing to read back
    assert rendered.outputs["dsnDeliveries"] == {"0": "not delivered: rendering manifests only"}
    assert "sentry-credentials" not in names(rendered, "Secret")
    assert {j.inputs["metadata"]["labels"]["app.kubernetes.io/component"] for j in rendered.of_kind("Job")} == \
        {"stop-previous-version", *INSTALL_ORDER}
