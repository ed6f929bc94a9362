"""examples/stacks/*.yaml are stack files operators copy to Pulumi.<stack>.yaml: each must be a valid
configuration once the secrets its header tells them to set are set, and must deploy under mocks
to what its comments promise. Secrets are placeholders put in here, never in the files.
Each example is deployed once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from components import configuration
from components.validation import ConfigError
from tests.harness import Deployment, deploy, env_of
from tests.k8s_helpers import in_clear

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "stacks"
FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
# `pulumi config set [--stack S] --secret --path 'a.b.c' '<value>'` in a file's comments.
SECRET_COMMAND = re.compile(r"^#\s+pulumi config set (?:--stack \S+ )?--secret --path '([^']+)' '<[^>]+>'$")
USE = re.compile(r"^#\s+cp examples/stacks/(\S+) Pulumi\.(\S+)\.yaml$")
SECRET_LEAVES = {"password", "secretAccessKey", "botToken", "kubeconfig"}


def example(name: str) -> tuple[dict, dict[str, str]]:
    """The file's configuration (keys without the project prefix) and a placeholder per secret its
    comments name, by dotted path."""
    text = (EXAMPLES / name).read_text()
    config = yaml.safe_load(text)["config"]
    assert all(key.startswith("error-tracking:") for key in config), name
    paths = [m.group(1) for line in text.splitlines() if (m := SECRET_COMMAND.match(line))]
    return ({key.split(":", 1)[1]: value for key, value in config.items()},
            {path: f"Placeholder-{index}-{path.replace('.', '-')}" for index, path in enumerate(paths)})


def with_secrets(values: dict, secrets: dict[str, str]) -> tuple[dict, tuple[str, ...]]:
    """`values` with each secret set at its path, as `pulumi config set --path` would; the top-level
    keys that then hold a secret (all Pulumi tells the program)."""
    filled = yaml.safe_load(yaml.safe_dump(values))
    for path, value in secrets.items():
        *parents, leaf = path.split(".")
        node = filled
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return filled, tuple(sorted({path.split(".")[0] for path in secrets}))


def leaves(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


@pytest.fixture(scope="module")
def deployed() -> dict[str, tuple[Deployment, dict[str, str]]]:
    found = {}
    for name in FILES:
        values, secrets = example(name)
        filled, secret_keys = with_secrets(values, secrets)
        found[name] = (deploy(filled, secret_keys=secret_keys), secrets)
    return found


def test_the_four_scenarios_have_an_example():
    assert FILES == ["sentry-docker-microservices.yaml", "sentry-docker-redpanda.yaml", "sentry-managed-cluster.yaml",
                     "sentry-microk8s.yaml"]


@pytest.mark.parametrize("name", FILES)
def test_each_example_says_how_to_become_a_stack_file(name):
    lines = (EXAMPLES / name).read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    (use,) = [m for line in header if (m := USE.match(line))]
    assert use.group(1) == name
    assert f"#   pulumi stack init {use.group(2)}" in header


@pytest.mark.parametrize("name", FILES)
def test_each_example_holds_no_secret_and_its_comments_name_every_secret_it_needs(name):
    text = (EXAMPLES / name).read_text()
    values, secrets = example(name)
    assert [path for path, _ in leaves(values) if path.rsplit(".", 1)[-1] in SECRET_LEAVES] == []
    assert not re.search(r"secure:\s*v1:", text)  # no value encrypted for some other stack either
    # Without them the file is refused only for secrets its comments tell the operator to set.
    try:
        configuration.load(values)
        problems = []
    except ConfigError as refused:
        problems = refused.problems
    missing = [re.match(r"error-tracking:(\S+): is required$", p) for p in problems]
    assert all(missing) and {m.group(1) for m in missing} <= set(secrets), problems
    filled, secret_keys = with_secrets(values, secrets)
    assert configuration.load(filled, frozenset(secret_keys)).app == "sentry"


@pytest.mark.parametrize("name", FILES)
def test_each_example_deploys_with_its_secrets_kept_secret(deployed, name):
    deployment, secrets = deployed[name]
    assert set(deployment.outputs["dsns"]) == {p["name"] for p in example(name)[0]["projects"]}
    clear = in_clear(deployment)
    assert [s for s in secrets.values() if s in clear] == []


# --- scenario 4: MicroK8s --------------------------------------------------------------------------

def test_microk8s_serves_the_public_class_with_tls_and_the_body_size_through_the_addons_namespace(deployed):
    deployment = deployed["sentry-microk8s.yaml"][0]
    ingress = deployment.one("Ingress", "sentry").inputs
    assert ingress["spec"]["ingressClassName"] == "public"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod",
                                                  "nginx.ingress.kubernetes.io/proxy-body-size": "100m"}
    assert ingress["spec"]["tls"][0]["hosts"] == ["sentry.example.com"]
    nginx = deployment.one("NetworkPolicy", "nginx-traffic").inputs["spec"]["ingress"]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}],
            "ports": [{"port": 8080, "protocol": "TCP"}]} in nginx


def test_microk8s_hands_each_application_its_dsn_in_secret_sentry_credentials(deployed):
    deployment = deployed["sentry-microk8s.yaml"][0]
    dsns = deployment.outputs["dsns"]
    sinks = {s.inputs["metadata"]["namespace"]: s for s in deployment.of_kind("Secret")
             if s.object_name == "sentry-credentials"}
    assert {ns: s.inputs["stringData"] for ns, s in sinks.items()} == {
        "backend": {"dsn": dsns["backend"]}, "frontend": {"dsn": dsns["frontend"]}}
    assert all(s.secret("stringData") for s in sinks.values())


def test_microk8s_keeps_data_on_hostpath_treats_its_pod_cidr_as_internal_and_gives_jobs_an_hour(deployed):
    deployment = deployed["sentry-microk8s.yaml"][0]
    assert {c.inputs["spec"]["storageClassName"] for c in deployment.of_kind("PersistentVolumeClaim")} == \
        {"microk8s-hostpath"}
    # Uploaded files in the bundled SeaweedFS, the backup jobs on ClickHouse's node: nothing shared.
    assert {c.inputs["spec"]["accessModes"][0] for c in deployment.of_kind("PersistentVolumeClaim")} == \
        {"ReadWriteOnce"}
    conf = deployment.one("ConfigMap", "sentry-conf-py").inputs["data"]["content"]
    assert "INTERNAL_SYSTEM_IPS = ('10.1.0.0/16',)" in conf
    assert {j.inputs["spec"]["activeDeadlineSeconds"] for j in deployment.of_kind("Job")} == {3600}
    assert {d.object_name for d in deployment.of_kind("StatefulSet")} == \
        {"postgres", "redis", "kafka", "clickhouse", "seaweedfs", "taskbroker"}


# --- a managed cluster with external stores ----------------------------------------------------------

def test_the_managed_cluster_runs_no_store_it_was_given_and_reaches_each_only_at_its_address(deployed):
    deployment = deployed["sentry-managed-cluster.yaml"][0]
    assert {d.object_name for d in deployment.of_kind("StatefulSet")} == {"redis", "seaweedfs", "taskbroker"}
    egress = deployment.one("NetworkPolicy", "web-traffic").inputs["spec"]["egress"]
    blocks = {tuple(p["port"] for p in r["ports"]): r["to"][0]["ipBlock"]["cidr"]
              for r in egress if "ipBlock" in r["to"][0]}
    assert blocks[(9096,)] == "10.0.80.0/20" and blocks[(587,)] == "10.0.112.10/32"
    assert deployment.one("ConfigMap", "create-kafka-topics-env").inputs["data"]["KAFKA_REPLICATION_FACTOR"] == "3"


def test_the_managed_cluster_routes_through_its_gateway_and_scales_web_and_a_consumer(deployed):
    deployment = deployed["sentry-managed-cluster.yaml"][0]
    (route,) = deployment.of_kind("HTTPRoute")
    assert route.inputs["spec"]["parentRefs"][0]["name"] == "public" and not deployment.of_kind("Ingress")
    hpas = {h.object_name: (h.inputs["spec"]["minReplicas"], h.inputs["spec"]["maxReplicas"])
            for h in deployment.of_kind("HorizontalPodAutoscaler")}
    assert hpas == {"web": (2, 6), "events-consumer": (2, 4)}
    # Files in the bundled SeaweedFS, the databases outside: no claim is shared at all.
    assert {c.inputs["spec"]["accessModes"][0] for c in deployment.of_kind("PersistentVolumeClaim")} == \
        {"ReadWriteOnce"}


# --- Docker: scenario 3 and scenario 2's development stack --------------------------------------------

def test_thirteen_go_services_each_get_their_own_dsn_in_their_env_file(deployed):
    deployment = deployed["sentry-docker-microservices.yaml"][0]
    deliveries = deployment.outputs["dsnDeliveries"]
    projects = [p["name"] for p in example("sentry-docker-microservices.yaml")[0]["projects"]]
    assert len(projects) == 13 and len(set(deployment.outputs["dsns"].values())) == 13
    assert sorted(deliveries.values()) == sorted(f"SENTRY_DSN in /opt/{p}/.env" for p in projects)
    published = {n: c.inputs["ports"] for n, c in deployment.containers().items() if c.inputs.get("ports")}
    assert list(published.values()) == [[{"internal": 8080, "external": 9000, "ip": "127.0.0.1", "protocol": "tcp"}]]


def test_the_development_stack_uses_the_existing_redpanda_instead_of_a_kafka(deployed):
    deployment = deployed["sentry-docker-redpanda.yaml"][0]
    containers = deployment.containers()
    assert not [n for n in containers if n.endswith("-kafka")]
    topics = next(c for n, c in containers.items() if n.endswith("-create-kafka-topics"))
    assert env_of(topics)["KAFKA_BOOTSTRAP_SERVERS"] == "172.17.0.1:19092"
    assert any(n.endswith("-postgres") for n in containers) and any(n.endswith("-redis") for n in containers)
