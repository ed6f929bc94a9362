"""The `kubernetes:` settings section: defaults, and every bad value refused by its setting's name."""

from __future__ import annotations

import pytest

from components import platforms
from components.platforms.kubernetes import PLUGIN
from components.platforms.kubernetes.settings import KubernetesSettings, Scaling
from components.validation import Problems, Section

PATH = "error-tracking:kubernetes"


def parse(data):
    problems = Problems()
    result = PLUGIN.parse_settings(Section(data, PATH, problems), problems)
    return result, problems.items


def refused(data, setting):
    _, problems = parse(data)
    matching = [p for p in problems if p.startswith(f"{PATH}.{setting}:")]
    assert matching, f"expected a problem for {PATH}.{setting}, got {problems}"
    return matching[0]


def test_registered_as_the_kubernetes_platform():
    assert platforms.get("kubernetes") is PLUGIN
    assert PLUGIN.create is not None and PLUGIN.unsupported is None


@pytest.mark.parametrize("data", [None, {}])
def test_absent_section_gives_defaults(data):
    result, problems = parse(data)
    assert problems == []
    assert result == KubernetesSettings()
    assert result.namespace == "error-tracking" and result.create_namespace is True
    assert result.kubeconfig is None and result.context is None and result.storage_class is None
    assert result.render_yaml_to is None
    assert result.web == Scaling(1, 1, 1, 75) and not result.web.autoscaled
    assert result.task_timeout_seconds == 1800


def test_settings_are_frozen():
    result, _ = parse({})
    with pytest.raises(Exception):
        result.namespace = "other"


def test_full_section():
    result, problems = parse({
        "kubeconfig": "/etc/kube/config", "context": "prod", "namespace": "errors", "createNamespace": "false",
        "storageClass": "longhorn",
        "ingress": {"className": "nginx", "clusterIssuer": "letsencrypt",
                    "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "20m", "example.com/n": 3}},
        "web": {"minReplicas": 2, "maxReplicas": "6", "targetCpuPercent": 60.0},
        "worker": {"replicas": 3},
        "volumeSizes": {"uploads": 40},
        "taskTimeoutSeconds": 3600,
        "renderYamlTo": "./manifests",
    })
    assert problems == []
    assert (result.kubeconfig, result.context, result.namespace) == ("/etc/kube/config", "prod", "errors")
    assert result.create_namespace is False
    assert result.storage_class == "longhorn"
    assert result.ingress.class_name == "nginx" and result.ingress.cluster_issuer == "letsencrypt"
    assert result.ingress.annotations == {"nginx.ingress.kubernetes.io/proxy-body-size": "20m", "example.com/n": "3"}
    assert result.web == Scaling(replicas=2, min_replicas=2, max_replicas=6, target_cpu_percent=60)
    assert result.web.autoscaled and result.web.guaranteed_replicas == 2
    assert result.worker == Scaling(replicas=3, min_replicas=3, max_replicas=3, target_cpu_percent=75)
    assert not result.worker.autoscaled and result.worker.guaranteed_replicas == 3
    assert result.volume_sizes == {"uploads": 40}
    assert result.task_timeout_seconds == 3600
    assert result.render_yaml_to == "./manifests"


def test_max_replicas_alone_autoscales_from_one():
    result, problems = parse({"web": {"maxReplicas": 4}})
    assert problems == []
    assert result.web == Scaling(replicas=1, min_replicas=1, max_replicas=4)


def test_min_above_max_is_refused_by_name():
    message = refused({"web": {"minReplicas": 5, "maxReplicas": 2}}, "web.minReplicas")
    assert "maxReplicas" in message
    refused({"worker": {"minReplicas": 5, "maxReplicas": 2}}, "worker.minReplicas")


def test_replicas_outside_bounds_are_refused():
    refused({"web": {"replicas": 8, "minReplicas": 2, "maxReplicas": 4}}, "web.replicas")
    refused({"web": {"replicas": 0}}, "web.replicas")
    refused({"web": {"replicas": 1000}}, "web.replicas")
    refused({"web": {"replicas": "two"}}, "web.replicas")
    refused({"web": {"replicas": 1.5}}, "web.replicas")
    refused({"worker": {"maxReplicas": True}}, "worker.maxReplicas")
    refused({"web": {"targetCpuPercent": 5}}, "web.targetCpuPercent")


@pytest.mark.parametrize("data, setting", [
    ({"replica": 2}, "replica"),
    ({"web": {"replica": 2}}, "web.replica"),
    ({"ingress": {"class": "nginx"}}, "ingress.class"),
    ({"ingress": {"tls": True}}, "ingress.tls"),
])
def test_unknown_keys_are_refused(data, setting):
    message = refused(data, setting)
    assert "unknown setting" in message


@pytest.mark.parametrize("data, setting", [
    ({"namespace": "Error_Tracking"}, "namespace"),
    ({"namespace": "a" * 64}, "namespace"),
    ({"namespace": 7}, "namespace"),
    ({"storageClass": "Fast SSD"}, "storageClass"),
    ({"createNamespace": "yes"}, "createNamespace"),
    ({"ingress": {"className": "NGINX"}}, "ingress.className"),
    ({"ingress": {"clusterIssuer": "lets encrypt"}}, "ingress.clusterIssuer"),
    ({"ingress": {"tlsSecret": "-bad"}}, "ingress.tlsSecret"),
    ({"ingress": {"annotations": ["a"]}}, "ingress.annotations"),
    ({"ingress": {"annotations": {"bad key!": "x"}}}, "ingress.annotations.bad key!"),
    ({"ingress": {"annotations": {"Bad_Prefix/x": "x"}}}, "ingress.annotations.Bad_Prefix/x"),
    ({"ingress": {"annotations": {"example.com/x": {"nested": 1}}}}, "ingress.annotations.example.com/x"),
    ({"ingress": "nginx"}, "ingress"),
    ({"web": 3}, "web"),
    ({"volumeSizes": {"uploads": 0}}, "volumeSizes.uploads"),
    ({"volumeSizes": {"Uploads_Dir": 5}}, "volumeSizes.Uploads_Dir"),
    ({"taskTimeoutSeconds": 10}, "taskTimeoutSeconds"),
    ({"renderYamlTo": 3}, "renderYamlTo"),
    ({"renderYamlTo": ""}, "renderYamlTo"),
    ({"context": ["a"]}, "context"),
])
def test_bad_values_are_refused_by_name(data, setting):
    refused(data, setting)


def test_cluster_issuer_and_tls_secret_are_mutually_exclusive():
    message = refused({"ingress": {"clusterIssuer": "letsencrypt", "tlsSecret": "mine"}}, "ingress.tlsSecret")
    assert "clusterIssuer" in message


def test_kubeconfig_is_never_echoed():
    content = {"apiVersion": "v1", "users": [{"user": {"token": "super-secret-token"}}]}
    _, problems = parse({"kubeconfig": content})
    assert problems and all("super-secret-token" not in p for p in problems)
    assert problems[0].startswith(f"{PATH}.kubeconfig:")


def test_all_problems_reported_at_once():
    _, problems = parse({"namespace": "BAD", "web": {"minReplicas": 3, "maxReplicas": 1}, "typo": 1})
    names = {p.split(":")[0] + ":" + p.split(":")[1] for p in problems}
    assert {f"{PATH}.namespace", f"{PATH}.web.minReplicas", f"{PATH}.typo"} <= names
