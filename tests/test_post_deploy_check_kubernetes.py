"""The post-deploy check on Kubernetes, through the real program: a hardened Job of its own, named
after what it checks, its DSN only in a Secret, let through the closed namespace to the
entrypoint's port and nowhere else; skipped when manifests are only rendered."""

from __future__ import annotations

import functools
import uuid

import pytest

from components import deploy_check
from tests.harness import deploy
from tests.secret_values import plain_strings
from tests.k8s_helpers import SCHEMA_VERSIONS, _known, containers, pod_spec, strict_problem

ON = {"postDeployCheck": {"enabled": True, "timeoutSeconds": 120}}
EDGE = {"ingress": {"controllerNamespace": "ingress-nginx"}}
K8S = {"platform": "kubernetes", "kubernetes": {"namespace": "errors", "sharedStorageClass": "nfs-rwx", **EDGE}}
CHECK_KEY = uuid.uuid5(uuid.NAMESPACE_URL, deploy_check.PROJECT_NAME).hex
# Whether the check is declared at all is the stack's decision, tested on Docker
# (tests/test_post_deploy_check.py); here: what the platform makes of it.
VARIANTS = {
    "on": {**K8S, **ON},
    "on-again": {**K8S, **ON},
    "newer": {**K8S, **ON, "glitchtip": {"version": "6.2.5"}},
    "render": {**K8S, **ON, "kubernetes": {"namespace": "errors", "sharedStorageClass": "nfs-rwx", **EDGE,
                                          "renderYamlTo": "/tmp/error-tracking-check-render"}},
}


@functools.lru_cache(maxsize=None)
def deployed(variant: str):
    return deploy(VARIANTS[variant])


def check_jobs(deployment):
    return [j for j in deployment.of_kind("Job") if j.object_name.startswith("post-deploy-check-")]


def the_job(deployment):
    (job,) = check_jobs(deployment)
    return job


def test_the_check_job_exists_except_when_only_rendering_manifests():
    assert check_jobs(deployed("render")) == [] and "postDeployCheck" not in deployed("render").outputs
    on = deployed("on")
    assert on.outputs["postDeployCheck"].startswith("passed: http://web.errors.svc:8000/_health/")
    assert set(on.outputs["dsns"]) == {"api", "web"}


def test_the_job_checks_the_entrypoint_service_in_a_pinned_hardened_curl_pod():
    job = the_job(deployed("on"))
    (container,) = containers(job)
    assert container["image"] == deploy_check.IMAGE
    assert container["command"] == ["sh", "-c", deploy_check.SCRIPT]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"CHECK_BASE_URL": "http://web.errors.svc:8000", "CHECK_HEALTH_PATH": "/_health/",
                   "CHECK_TIMEOUT_SECONDS": "120"}
    assert container["envFrom"] == [{"secretRef": {"name": "post-deploy-check"}}]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 65534
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert container["resources"]["limits"]["memory"] == "32Mi"
    spec = job.inputs["spec"]
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] == 180
    assert pod_spec(job)["restartPolicy"] == "Never" and pod_spec(job)["automountServiceAccountToken"] is False


def test_the_check_dsn_is_only_in_a_secret_and_never_in_clear():
    on = deployed("on")
    secret = on.one("Secret", "post-deploy-check")
    assert secret.inputs["stringData"] == {"CHECK_DSN": f"https://{CHECK_KEY}@errors.example.com/3"}
    assert secret.secret("stringData")
    assert [d.name for d in on.declared if any(CHECK_KEY in s for s in plain_strings(d.raw))] == []


def test_the_job_waits_for_web_its_secret_and_the_policies_that_let_it_through():
    on = deployed("on")
    after = {(d.kind, d.object_name) for d in on.depends_on(the_job(on))}
    assert {("Deployment", "web"), ("Secret", "post-deploy-check"), ("NetworkPolicy", "post-deploy-check-traffic"),
            ("NetworkPolicy", "web-admits-post-deploy-check")} <= after


def test_the_check_may_reach_only_dns_and_the_entrypoint_port_and_web_admits_it():
    on = deployed("on")
    own = on.one("NetworkPolicy", "post-deploy-check-traffic").inputs["spec"]
    assert own["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "post-deploy-check"
    assert own["ingress"] == [] and sorted(own["policyTypes"]) == ["Egress", "Ingress"]
    dns, web = own["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert web == {"to": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "glitchtip", "app.kubernetes.io/instance": "glitchtip-kubernetes",
        "app.kubernetes.io/component": "web"}}}], "ports": [{"protocol": "TCP", "port": 8000}]}
    admits = on.one("NetworkPolicy", "web-admits-post-deploy-check").inputs["spec"]
    assert admits["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert admits["policyTypes"] == ["Ingress"]
    ((rule,),) = [admits["ingress"]]
    assert rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "post-deploy-check"
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]


def test_the_job_is_named_after_what_it_checks():
    name = the_job(deployed("on")).object_name
    assert name == the_job(deployed("on-again")).object_name
    assert name != the_job(deployed("newer")).object_name


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_the_check_objects_are_valid_kubernetes_in_strict_mode(version):
    on = deployed("on")
    mine = [d for d in on.k8s() if d.inputs.get("metadata", {}).get("labels", {}).get(
        "app.kubernetes.io/component") == "post-deploy-check"]
    assert {d.kind for d in mine} == {"Secret", "Job", "NetworkPolicy"}
    assert [problem for d in mine if (problem := strict_problem(_known(d.manifest()), version))] == []
