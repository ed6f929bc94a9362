"""What a cluster's admission and a node's kernel would make of the pods: the namespace is refused
where a default-deny would hurt others, labelled for Pod Security Admission at the strictest level
every pod meets (judged by tests/pod_model.py, not by the program's own rules), and every mounted
configuration file is readable by the user that reads it, secret ones included."""

from __future__ import annotations

import logging

import pytest

from components.spec import Scratch
from tests.harness import deploy as deploy_program
from tests.k8s_helpers import deploy, pod_spec, sample_spec, with_workload, workloads
from tests.pod_model import Reader, baseline_violations, reader, restricted_violations, strictest_level, unreadable_files
from tests.sentry_kubernetes_cases import BASE

LABEL = "pod-security.kubernetes.io"
# Images that start as root and drop to their own user: that user reads the files (tests/pod_model.py).
DROPS_TO = {"clickhouse": (101, 101), "postgres": (999, 999), "redis": (999, 999)}


def pods(deployment):
    return {name: pod_spec(d) for name, d in workloads(deployment).items()}


def namespace_labels(deployment) -> dict:
    (namespace,) = deployment.of_kind("Namespace")
    return namespace.inputs["metadata"]["labels"]


@pytest.fixture(scope="module")
def glitchtip():
    return deploy_program({"platform": "kubernetes", "glitchtip": {"emailUrl": "smtp://u:p@mail.example.com:25"},
                           "kubernetes": {"ingress": {"controllerNamespace": "ingress-nginx"},
                                          "sharedStorageClass": "nfs-rwx"}},
                          secret_keys=("glitchtip",))


@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_a_namespace_the_cluster_or_other_teams_use_is_refused_by_its_full_key(namespace):
    with pytest.raises(Exception) as refused:
        deploy_program({**BASE, "kubernetes": {"namespace": namespace, "createNamespace": False}})
    assert "error-tracking:kubernetes.namespace: must be a namespace of the app's own" in str(refused.value)
    assert "default-deny" in str(refused.value)


@pytest.mark.parametrize("preview", [False, True])
def test_an_existing_namespace_is_said_plainly_to_be_closed_at_preview_and_up(caplog, preview):
    with caplog.at_level(logging.WARNING):
        deployment = deploy({"createNamespace": False, "namespace": "observability"}, preview=preview,
                            report_task=None)
    warned = [r.getMessage() for r in caplog.records if "createNamespace is false" in r.getMessage()]
    assert len(warned) == 1 and "will close namespace observability with a default-deny" in warned[0]
    # and how to give it the Pod Security labels the program cannot set on a namespace it does not own
    assert f"kubectl label namespace observability {LABEL}/enforce=baseline" in warned[0]
    assert not deployment.of_kind("Namespace")


def test_a_created_namespace_is_not_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        deploy(report_task=None)
    assert not [r for r in caplog.records if "createNamespace" in r.getMessage()]


@pytest.mark.parametrize("variant", ["errors-only", "feature-complete"])
def test_sentry_namespace_enforces_the_strictest_level_every_pod_meets_and_warns_at_restricted(deployments, variant):
    deployment = deployments[variant]
    every = pods(deployment)
    assert {name: baseline_violations(p) for name, p in every.items() if baseline_violations(p)} == {}
    labels = namespace_labels(deployment)
    assert labels[f"{LABEL}/enforce"] == strictest_level(every.values())
    assert labels[f"{LABEL}/enforce-version"] == "v1.30"
    assert (labels[f"{LABEL}/audit"], labels[f"{LABEL}/warn"]) == ("restricted", "restricted")
    # Every pod meets restricted, nginx's unprivileged variant and the stores as their own users included.
    short = {name for name, p in every.items() if restricted_violations(p)}
    assert short == set() and labels[f"{LABEL}/enforce"] == "restricted"


def test_glitchtip_pods_all_meet_restricted_and_the_namespace_enforces_it(glitchtip):
    every = pods(glitchtip)
    assert {name: restricted_violations(p) for name, p in every.items() if restricted_violations(p)} == {}
    assert namespace_labels(glitchtip)[f"{LABEL}/enforce"] == "restricted"


def test_a_workload_that_starts_as_root_lowers_enforcement_to_baseline():
    restricted = deploy(spec=with_workload(sample_spec(with_postgres=False), "valkey", root=False, capabilities=(),
                                           run_as_user=999, run_as_group=999), report_task=None)
    assert strictest_level(pods(restricted).values()) == namespace_labels(restricted)[f"{LABEL}/enforce"] \
        == "restricted"
    rooted = deploy(spec=sample_spec(with_postgres=False), report_task=None)  # its valkey starts as root
    assert strictest_level(pods(rooted).values()) == namespace_labels(rooted)[f"{LABEL}/enforce"] == "baseline"


def test_a_capability_beyond_baseline_is_refused():
    spec = with_workload(sample_spec(with_postgres=False), "valkey", capabilities=("SYS_ADMIN",))
    with pytest.raises(Exception, match=r"valkey: capabilities \['SYS_ADMIN'\] are beyond the baseline"):
        deploy(spec=spec, report_task=None)


# --- who can read the configuration files ------------------------------------------------------

def readers(pod: dict, name: str) -> dict:
    return {c["name"]: reader(pod, c, drops_to=DROPS_TO.get(name)) for c in pod["containers"]}


@pytest.mark.parametrize("variant", ["errors-only", "feature-complete"])
def test_every_sentry_file_is_readable_by_the_user_that_reads_it_with_a_secret_sentry_section(deployments,
                                                                                             variant):
    deployment = deployments[variant]
    # A secret `sentry` section makes the rendered files Secrets (mode 0440, owned by root).
    assert deployment.one("Secret", "sentry-conf-py")
    problems = {name: unreadable_files(p, readers(p, name)) for name, p in pods(deployment).items()}
    assert {name: found for name, found in problems.items() if found} == {}
    clickhouse = pods(deployment).get("clickhouse")
    if clickhouse:  # the bundled ClickHouse reads its Secret files as 101 from the start, through fsGroup
        secret = [v["secret"] for v in clickhouse["volumes"] if "secret" in v]
        assert [s["secretName"] for s in secret] == ["clickhouse-config-xml", "clickhouse-users-xml"]
        assert {s["defaultMode"] for s in secret} == {0o440}
        assert reader(clickhouse, clickhouse["containers"][0]) == Reader(101, frozenset({101}))


def test_every_glitchtip_file_is_readable_by_the_user_that_reads_it(glitchtip):
    problems = {name: unreadable_files(p, readers(p, name)) for name, p in pods(glitchtip).items()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_model_sees_a_root_started_image_that_drops_privileges_lose_its_secret_files():
    """The case the program avoids: a server started as root that switches to its own user finds
    its Secret files root-owned and 0440, with no fsGroup to make them its group's."""
    spec = with_workload(sample_spec(with_postgres=False), "web", root=True, run_as_user=None, run_as_group=None,
                         scratch=(Scratch("/tmp", 64),))
    pod = pod_spec(deploy(spec=spec, report_task=None).one("Deployment", "web"))
    found = unreadable_files(pod, {"web": reader(pod, pod["containers"][0], drops_to=(5000, 5000))})
    assert found and "/run/secrets/app/key" in found[0]
