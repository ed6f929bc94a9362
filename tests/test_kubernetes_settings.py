"""The `kubernetes:` settings section and its checks against the app's description: defaults, and
every bad value refused by its setting's full name before any resource is declared."""

from __future__ import annotations

import pytest

from components import platforms
from components.platforms.kubernetes import PLUGIN
from components.platforms.kubernetes.settings import (
    Autoscaling,
    IngressSettings,
    KubernetesSecretTarget,
    KubernetesSettings,
)
from components.validation import Problems, Section
from tests.k8s_helpers import sample_spec, settings

EDGE = {"ingress": {"controllerNamespace": "ingress-nginx"}}
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


def test_registered_as_the_kubernetes_platform_delivering_to_secrets():
    assert platforms.get("kubernetes") is PLUGIN
    assert PLUGIN.create is not None and PLUGIN.check is not None and PLUGIN.unsupported is None
    assert set(PLUGIN.dsn_targets) == {"kubernetesSecret"}


@pytest.mark.parametrize("data", [None, {}])
def test_absent_section_gives_the_defaults(data):
    result, problems = parse(data)
    assert problems == []
    assert result == KubernetesSettings()
    assert result.namespace == "error-tracking" and result.create_namespace is True
    assert result.kubeconfig is None and result.context is None and result.storage_class is None
    assert result.render_yaml_to is None and result.task_timeout_seconds == 1800
    assert result.autoscaling == {} and result.egress == {} and result.volume_sizes == {}
    assert result.ingress == IngressSettings()
    assert result.ingress.max_body_mb == 100 and result.ingress.controller_namespace is None


def test_settings_are_frozen():
    result, _ = parse({})
    with pytest.raises(Exception):
        result.namespace = "other"


def test_full_section():
    result, problems = parse({
        "kubeconfig": "/etc/kube/config", "context": "prod", "namespace": "errors", "createNamespace": "false",
        "storageClass": "longhorn",
        "ingress": {"className": "nginx", "clusterIssuer": "letsencrypt", "maxBodyMb": 250,
                    "controllerNamespace": "ingress-nginx",
                    "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "120", "example.com/n": 3}},
        "autoscaling": {"web": {"minReplicas": 2, "maxReplicas": "6", "targetCpuPercent": 60.0},
                        "worker": {"maxReplicas": 4}},
        "egress": {"mail": ["192.0.2.25/32", "2001:db8::1"], "database": ["10.1.0.0/16"]},
        "volumeSizes": {"uploads": 40},
        "taskTimeoutSeconds": 3600,
        "renderYamlTo": "./manifests",
    })
    assert problems == []
    assert (result.kubeconfig, result.context, result.namespace) == ("/etc/kube/config", "prod", "errors")
    assert result.create_namespace is False and result.storage_class == "longhorn"
    assert result.ingress == IngressSettings(
        class_name="nginx", cluster_issuer="letsencrypt", max_body_mb=250, controller_namespace="ingress-nginx",
        annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout": "120", "example.com/n": "3"})
    assert result.autoscaling == {"web": Autoscaling(min_replicas=2, max_replicas=6, target_cpu_percent=60),
                                  "worker": Autoscaling(min_replicas=1, max_replicas=4, target_cpu_percent=75)}
    assert result.egress == {"mail": ("192.0.2.25/32", "2001:db8::1/128"), "database": ("10.1.0.0/16",)}
    assert result.volume_sizes == {"uploads": 40}
    assert result.task_timeout_seconds == 3600 and result.render_yaml_to == "./manifests"


def test_an_autoscaler_needs_room_between_its_bounds():
    assert "maxReplicas" in refused({"autoscaling": {"web": {"minReplicas": 5, "maxReplicas": 2}}},
                                    "autoscaling.web.minReplicas")
    assert "replicas" in refused({"autoscaling": {"web": {"minReplicas": 3, "maxReplicas": 3}}},
                                 "autoscaling.web.maxReplicas")
    refused({"autoscaling": {"web": {"minReplicas": 2}}}, "autoscaling.web.maxReplicas")  # required


@pytest.mark.parametrize("data, setting", [
    ({"autoscaling": {"web": {"maxReplicas": 0}}}, "autoscaling.web.maxReplicas"),
    ({"autoscaling": {"web": {"maxReplicas": 1000}}}, "autoscaling.web.maxReplicas"),
    ({"autoscaling": {"web": {"maxReplicas": "two"}}}, "autoscaling.web.maxReplicas"),
    ({"autoscaling": {"web": {"maxReplicas": 1.5}}}, "autoscaling.web.maxReplicas"),
    ({"autoscaling": {"web": {"maxReplicas": True}}}, "autoscaling.web.maxReplicas"),
    ({"autoscaling": {"web": {"maxReplicas": 4, "targetCpuPercent": 5}}}, "autoscaling.web.targetCpuPercent"),
    ({"autoscaling": {"Web_Server": {"maxReplicas": 4}}}, "autoscaling.Web_Server"),
    ({"autoscaling": {"web": 3}}, "autoscaling.web"),
])
def test_bad_autoscaling_values_are_refused_by_name(data, setting):
    refused(data, setting)


@pytest.mark.parametrize("old", ["web", "worker"])
def test_the_earlier_web_and_worker_keys_say_where_they_moved(old):
    message = refused({old: {"replicas": 2}}, old)
    assert "moved" in message and "kubernetes.autoscaling.<service>" in message and "replicas" in message


@pytest.mark.parametrize("data, setting", [
    ({"replica": 2}, "replica"),
    ({"autoscaling": {"web": {"maxReplicas": 4, "replicas": 2}}}, "autoscaling.web.replicas"),
    ({"ingress": {"class": "nginx"}}, "ingress.class"),
    ({"ingress": {"tls": True}}, "ingress.tls"),
])
def test_unknown_keys_are_refused(data, setting):
    assert "unknown setting" in refused(data, setting)


@pytest.mark.parametrize("data, setting", [
    ({"namespace": "Error_Tracking"}, "namespace"),
    ({"namespace": "a" * 64}, "namespace"),
    ({"namespace": 7}, "namespace"),
    ({"storageClass": "Fast SSD"}, "storageClass"),
    ({"createNamespace": "yes"}, "createNamespace"),
    ({"ingress": {"className": "NGINX"}}, "ingress.className"),
    ({"ingress": {"clusterIssuer": "lets encrypt"}}, "ingress.clusterIssuer"),
    ({"ingress": {"tlsSecret": "-bad"}}, "ingress.tlsSecret"),
    ({"ingress": {"maxBodyMb": 0}}, "ingress.maxBodyMb"),
    ({"ingress": {"maxBodyMb": "100m"}}, "ingress.maxBodyMb"),
    ({"ingress": {"controllerNamespace": "Ingress Nginx"}}, "ingress.controllerNamespace"),
    ({"ingress": {"annotations": ["a"]}}, "ingress.annotations"),
    ({"ingress": {"annotations": {"bad key!": "x"}}}, "ingress.annotations.bad key!"),
    ({"ingress": {"annotations": {"Bad_Prefix/x": "x"}}}, "ingress.annotations.Bad_Prefix/x"),
    ({"ingress": {"annotations": {"example.com/x": {"nested": 1}}}}, "ingress.annotations.example.com/x"),
    ({"ingress": "nginx"}, "ingress"),
    ({"egress": {"mail": "192.0.2.25/32"}}, "egress.mail"),
    ({"egress": {"mail": ["mail.example.com"]}}, "egress.mail"),
    ({"egress": ["mail"]}, "egress"),
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
    assert "clusterIssuer" in refused({"ingress": {"clusterIssuer": "letsencrypt", "tlsSecret": "mine"}},
                                      "ingress.tlsSecret")


def test_kubeconfig_is_never_echoed():
    content = {"apiVersion": "v1", "users": [{"user": {"token": "super-secret-token"}}]}
    _, problems = parse({"kubeconfig": content})
    assert problems and all("super-secret-token" not in p for p in problems)
    assert problems[0].startswith(f"{PATH}.kubeconfig:")


def test_all_problems_reported_at_once():
    _, problems = parse({"namespace": "BAD", "autoscaling": {"web": {"minReplicas": 3, "maxReplicas": 1}},
                         "typo": 1})
    names = {p.split(": ")[0] for p in problems}
    assert {f"{PATH}.namespace", f"{PATH}.autoscaling.web.minReplicas", f"{PATH}.typo"} <= names


# --- DSN targets -------------------------------------------------------------------------------

def parse_target(data):
    problems = Problems()
    target = PLUGIN.dsn_targets["kubernetesSecret"](Section(data, "error-tracking:dsnTargets[0].kubernetesSecret",
                                                            problems))
    return target, problems.items


def test_a_kubernetes_secret_target_defaults_its_key_and_is_hashable():
    target, problems = parse_target({"namespace": "shop", "name": "sentry-dsn"})
    assert problems == [] and target == KubernetesSecretTarget("shop", "sentry-dsn", "SENTRY_DSN")
    assert len({target, KubernetesSecretTarget("shop", "sentry-dsn", "SENTRY_DSN")}) == 1
    assert parse_target({"namespace": "shop", "name": "s", "key": "dsn"})[0].key == "dsn"


@pytest.mark.parametrize("data, key", [
    ({"name": "sentry-dsn"}, "namespace"),
    ({"namespace": "Shop", "name": "sentry-dsn"}, "namespace"),
    ({"namespace": "shop"}, "name"),
    ({"namespace": "shop", "name": "Sentry DSN"}, "name"),
    ({"namespace": "shop", "name": "s", "key": "a/b"}, "key"),
    ({"namespace": "shop", "name": "s", "typo": 1}, "typo"),
])
def test_a_bad_kubernetes_secret_target_is_refused_by_name(data, key):
    _, problems = parse_target(data)
    assert [p for p in problems if p.startswith(f"error-tracking:dsnTargets[0].kubernetesSecret.{key}:")], problems


# --- checks against the app's description ------------------------------------------------------

def check(data):
    """The sample's web and worker share `uploads`: a ReadWriteMany class is given unless the test says.
    The entrypoint's edge is required (tests/test_kubernetes_network.py); named here so that each
    test sees only the problem it is about."""
    edge = {} if "ingress" in data or "gateway" in data else {"ingress": {"controllerNamespace": "ingress-nginx"}}
    return PLUGIN.check(sample_spec(), settings({"sharedStorageClass": "nfs-rwx", **edge, **data}))


def test_a_shared_claim_without_a_read_write_many_class_is_refused_naming_it_and_its_pods():
    problems = PLUGIN.check(sample_spec(), settings({"storageClass": "gp3", **EDGE}))
    (problem,) = [p for p in problems if p.startswith(f"{PATH}.sharedStorageClass:")]
    assert "uploads (mounted by web, worker)" in problem and "ReadWriteMany" in problem
    assert "Pending" in problem and "EKS, GKE, AKS, k3s and Longhorn" in problem
    # block storage (storageClass) is no answer: it serves ReadWriteOnce
    assert settings({"storageClass": "gp3"}).shared_storage_class is None
    assert check({}) == []


def test_a_description_without_shared_claims_needs_no_read_write_many_class():
    from dataclasses import replace

    spec = sample_spec()
    one_mounter = replace(spec, volumes=tuple(replace(v, shared=False) for v in spec.volumes),
                          services=tuple(replace(s, mounts=()) if s.name == "worker" else s for s in spec.services))
    assert PLUGIN.check(one_mounter, settings(EDGE)) == []
    # a volume each pod keeps for itself (an emptyDir) is no claim either
    local = replace(spec, volumes=tuple(replace(v, local=True) for v in spec.volumes))
    assert PLUGIN.check(local, settings(EDGE)) == []


def test_kubernetes_refuses_to_be_asked_for_an_image_build():
    from dataclasses import replace

    from components.spec import ImageBuild

    spec = sample_spec()
    asked = replace(spec, builds=(ImageBuild(reference=spec.service("web").image, context="images/app"),))
    assert [p for p in PLUGIN.check(asked, settings({"sharedStorageClass": "rwx", **EDGE}))
            if p.startswith("error-tracking:platform: kubernetes builds no images")]


def test_settings_matching_the_description_pass():
    assert check({"autoscaling": {"web": {"maxReplicas": 50}, "worker": {"maxReplicas": 4}},
                  "volumeSizes": {"uploads": 5, "pgdata": 50},
                  "egress": {"mail": ["192.0.2.25/32"], "offsite": ["198.51.100.0/24"],
                             "kubernetes-api": ["10.0.0.1/32"]}}) == []


def test_a_volume_size_for_an_unknown_volume_is_refused_by_name():
    (problem,) = check({"volumeSizes": {"media": 5, "uploads": 5}})
    assert problem.startswith(f"{PATH}.volumeSizes.media:") and "uploads" in problem


@pytest.mark.parametrize("service", ["search", "valkey", "postgres"])
def test_autoscaling_an_unknown_or_unscalable_service_is_refused_by_name(service):
    (problem,) = check({"autoscaling": {service: {"maxReplicas": 3}}})
    assert problem.startswith(f"{PATH}.autoscaling.{service}:")
    assert "scalable: web, worker" in problem


def test_autoscaling_above_what_the_service_is_sized_for_is_refused_by_name():
    (problem,) = check({"autoscaling": {"worker": {"maxReplicas": 5}}})  # the worker's max_replicas is 4
    assert problem.startswith(f"{PATH}.autoscaling.worker.maxReplicas:")
    assert "at most 4" in problem and "got 5" in problem


def test_addresses_for_a_destination_no_workload_reaches_are_refused_by_name():
    (problem,) = check({"egress": {"mial": ["192.0.2.25/32"]}})
    assert problem.startswith(f"{PATH}.egress.mial:")
    assert "mail" in problem and "kubernetes-api" in problem
    # without a reporting task the API server is no destination either
    from dataclasses import replace

    spec = sample_spec()
    quiet = replace(spec, tasks=tuple(replace(t, reports=False) for t in spec.tasks))
    (problem,) = PLUGIN.check(quiet, settings({"egress": {"kubernetes-api": ["10.0.0.1/32"]},
                                              "sharedStorageClass": "nfs-rwx",
                                              "ingress": {"controllerNamespace": "ingress-nginx"}}))
    assert problem.startswith(f"{PATH}.egress.kubernetes-api:")
