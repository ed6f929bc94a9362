"""Upgrades stop first: the previous version's Sentry and Snuba processes are stopped (each with
upstream's 60 s to drain) before the pre-upgrade backups and the migrations, and only the new
version starts after them; a first install and an `up` that changes no image stop nothing.

The order is read from what the real program declares under mocks, on both platforms; what a stop
step does when it runs is in tests/test_upgrade_stop_scripts.py.
"""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from components import spec as s
from components.apps.sentry import app as sentry_app
from components.apps.sentry import install
from components.configuration import load
from components.platforms.kubernetes import stop as k8s_stop
from components.validation import Problems, Section
from tests import k8s_helpers
from tests.harness import BASE_CONFIG, deploy, run
from tests.k8s_helpers import pod_spec
from tests.sentry_kubernetes_cases import ERRORS_ONLY

SENTRY = {"app": "sentry"}
STOP = install.STOP_STEP
MIGRATIONS = ("snuba-bootstrap", "sentry-upgrade")
BACKUPS = ("pre-upgrade-backup", "clickhouse-pre-upgrade-backup")


# The description ---------------------------------------------------------------------------------

def sentry_spec(overrides=None) -> s.AppSpec:
    return sentry_app.describe_without_secrets(load({**BASE_CONFIG, **SENTRY, **(overrides or {})}))


def test_the_previous_versions_sentry_and_snuba_processes_are_stopped_not_the_stores_or_the_edge():
    spec = sentry_spec({"sentry": {"profile": "feature-complete"}})
    (stop,) = spec.stops
    stopped = set(stop.services)
    assert {"web", "taskworker", "taskscheduler", "taskbroker", "sentry-cleanup", "events-consumer",
            "post-process-forwarder-errors", "snuba-api", "snuba-errors-consumer", "launchpad-taskworker"} <= stopped
    # Ingest keeps taking events into Kafka meanwhile, as upstream's --minimize-downtime.
    assert not stopped & {"nginx", "relay", "postgres", "pgbouncer", "redis", "kafka", "clickhouse", "seaweedfs",
                          "memcached", "smtp", "symbolicator", "vroom", "uptime-checker"}
    for name in stopped:
        assert spec.service(name).stop_grace_seconds >= 60, name  # upstream's STOP_TIMEOUT


def test_every_one_shot_runs_after_the_stop_and_every_stopped_service_after_a_migration():
    spec = sentry_spec()
    order = [w.name for w in spec.start_order()]
    before = {t.name: _ancestors(spec, t.name) for t in spec.tasks}
    for task in spec.tasks:
        assert STOP in before[task.name], task.name
    assert set(BACKUPS) <= before["snuba-bootstrap"] and "snuba-bootstrap" in before["sentry-upgrade"]
    for name in spec.stops[0].services:
        assert set(MIGRATIONS) & _ancestors(spec, name), name
    assert order.index("sentry-upgrade") < order.index("web") and order.index("sentry-upgrade") < order.index(
        "taskbroker")
    assert STOP not in order  # platforms declare stop steps before everything


def _ancestors(spec: s.AppSpec, name: str) -> set[str]:
    found: set[str] = set()
    todo = [name]
    while todo:
        workload = spec.workload(todo.pop())
        for parent in (*workload.depends_on, *workload.after):
            if parent not in found:
                found.add(parent)
                if parent not in {x.name for x in spec.stops}:
                    todo.append(parent)
    return found


def test_a_stop_step_is_validated_like_the_rest_and_each_platform_keeps_its_own_services():
    small = s.Resources(memory_mb=64, cpu=0.1)
    web = s.Service("web", "app:1", small, ports=(s.Port(80),), after=("migrate",))
    worker = s.Service("worker", "app:1", small, platforms=("docker",))
    migrate = s.Task("migrate", "app:1", small, after=("stop-old",))
    base = dict(name="app", version="1", services=(web, worker), tasks=(migrate,), volumes=(),
                entrypoint=s.Entrypoint("web", 80, "/"))
    ok = s.AppSpec(**base, stops=(s.StopFirst("stop-old", ("web", "worker")),))
    ok.validate()
    order = [w.name for w in ok.start_order()]
    assert sorted(order) == ["migrate", "web", "worker"] and order.index("migrate") < order.index("web")
    assert ok.for_platform("kubernetes").stops == (s.StopFirst("stop-old", ("web",)),)
    assert ok.for_platform("docker").stops == ok.stops
    with pytest.raises(ValueError, match="stop-old: stops unknown service 'cron'"):
        s.AppSpec(**base, stops=(s.StopFirst("stop-old", ("web", "cron")),)).validate()
    with pytest.raises(ValueError, match="migrate: runs after unknown task 'stop-old'"):
        s.AppSpec(**base).validate()
    with pytest.raises(ValueError, match="stop step name 'web' is not unique"):
        s.AppSpec(**{**base, "tasks": ()}, stops=(s.StopFirst("web", ("web",)),)).validate()


# Docker: the order, and when the step runs --------------------------------------------------------

def stop_command(deployment):
    (command,) = [d for d in deployment.declared if d.typ.startswith("command:") and d.name.endswith("-stop-old")]
    return command


def with_stop(spec: s.AppSpec, image: str = k8s_helpers.IMAGE) -> s.AppSpec:
    """The synthetic app of the platform tests, upgraded to `image`: web and worker stop before
    migrate, which then runs after the stop."""
    spec = dataclasses.replace(spec, stops=(s.StopFirst("stop-old", ("web", "worker")),))
    for name in ("web", "worker", "migrate", "bootstrap"):
        spec = k8s_helpers.with_workload(spec, name, image=image)
    return k8s_helpers.with_workload(spec, "migrate", after=("stop-old",))


def on_docker(spec: s.AppSpec, data=None):
    from components.platforms.docker import PLUGIN
    from components.plugins import PlatformArgs

    spec = k8s_helpers.with_workload(spec, "bootstrap", reports=False)  # no report to read back here
    problems = Problems()
    parsed = PLUGIN.parse_settings(Section(data or {}, "error-tracking:docker", problems), problems)
    assert not problems.items, problems.items
    args = PlatformArgs(spec=spec, settings=parsed, url="http://localhost:8000")
    return run(lambda: PLUGIN.create("demo-docker", args, pulumi.ResourceOptions()))


def test_on_docker_the_stop_runs_after_the_new_images_are_pulled_and_before_what_runs_after_it():
    deployment = on_docker(with_stop(k8s_helpers.sample_spec()))
    command, containers = stop_command(deployment), deployment.containers()
    assert command.typ == "command:local:Command"
    assert command.urn in containers["demo-migrate"].dependencies
    assert containers["demo-migrate"].urn in containers["demo-web"].dependencies
    pulled = {d.inputs["name"]: d.urn for d in deployment.of_type("docker:index/remoteImage:RemoteImage")}
    assert pulled[k8s_helpers.IMAGE] in command.dependencies
    # A failed stop is a failed resource: nothing after it is created, no exit-code gate is needed.
    assert "error-tracking.after.stop-old" not in {x["label"] for x in containers["demo-migrate"].inputs["labels"]}
    assert [n for n, c in containers.items() if command.urn in c.dependencies] == ["demo-migrate"]
    assert command.inputs["environment"] == {"DOCKER_HOST": "unix:///var/run/docker.sock"}
    assert "STOP_INSTANCE=demo" in command.inputs["create"]
    image_id = containers["demo-web"].inputs["image"]  # the ID of the image just pulled
    # web names its drain (45 s); worker none: Docker's default of 10 s.
    assert command.inputs["triggers"] == [f"web={image_id}@45 worker={image_id}@10"]


def test_on_docker_the_step_runs_again_only_when_an_image_it_compares_changes():
    first = stop_command(on_docker(with_stop(k8s_helpers.sample_spec())))
    again = stop_command(on_docker(with_stop(k8s_helpers.sample_spec(app_key="another-key"))))
    assert (again.inputs["create"], again.inputs["triggers"]) == (first.inputs["create"], first.inputs["triggers"])
    upgraded = stop_command(on_docker(with_stop(k8s_helpers.sample_spec(), image="ghcr.io/example/app:2.0.0")))
    assert upgraded.inputs["triggers"] != first.inputs["triggers"]
    assert upgraded.inputs["create"] != first.inputs["create"]


def test_over_ssh_the_step_runs_on_the_docker_host_and_over_tcp_here_against_that_engine():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC0g7bG1u2p0xk8d3gNf4S0W6jv2d6m7wHcWkq8Qe2bZ"
    remote = stop_command(on_docker(with_stop(k8s_helpers.sample_spec()),
                                    {"host": "ssh://deploy@docker.example.com", "sshHostKey": key}))
    assert remote.typ == "command:remote:Command"
    assert remote.inputs["connection"]["host"] == "docker.example.com" and remote.inputs["connection"]["hostKey"] == key
    assert "DOCKER_HOST" not in remote.inputs["create"] and "environment" not in remote.inputs
    tcp = stop_command(on_docker(with_stop(k8s_helpers.sample_spec()), {"host": "tcp://10.0.0.5:2376"}))
    assert tcp.typ == "command:local:Command" and tcp.inputs["environment"] == {"DOCKER_HOST": "tcp://10.0.0.5:2376"}


def test_sentry_on_docker_stops_then_backs_up_then_migrates_then_starts_the_new_version():
    deployment = deploy(SENTRY)
    containers = {n[len("sentry-"):]: c for n, c in deployment.containers().items()}
    (command,) = [d for d in deployment.declared if d.name.endswith(f"-{STOP}")]
    assert command.urn in containers["pre-upgrade-backup"].dependencies
    assert containers["pre-upgrade-backup"].urn in containers["clickhouse-pre-upgrade-backup"].dependencies
    for migration in MIGRATIONS:
        assert containers["clickhouse-pre-upgrade-backup"].urn in containers[migration].dependencies
    for new in ("web", "taskworker", "taskbroker", "sentry-cleanup", "events-consumer"):
        assert containers["sentry-upgrade"].urn in containers[new].dependencies, new
    assert containers["snuba-bootstrap"].urn in containers["snuba-errors-consumer"].dependencies
    entries = dict(e.split("=", 1) for e in command.inputs["triggers"][0].split())
    assert set(entries) == set(sentry_spec().stops[0].services)
    assert all(v.startswith("sha256:") and v.endswith("@60") for v in entries.values())
    assert containers["web"].inputs["stopTimeout"] == 60 and containers["nginx"].inputs.get("stopTimeout") is None


# Kubernetes: the order, the Job, its rights ------------------------------------------------------

def stop_job(deployment, mode="stop", name=STOP):
    (found,) = [j for j in deployment.of_kind("Job") if j.object_name.startswith(f"{name}-{mode}-")]
    return found


def on_kubernetes(spec: s.AppSpec, data=None):
    return k8s_helpers.deploy(data, spec=spec)


def test_the_stop_job_may_get_and_scale_exactly_what_it_stops_list_pods_and_reach_only_dns_and_the_api():
    deployment = on_kubernetes(with_stop(k8s_helpers.sample_spec()))
    job = stop_job(deployment, name="stop-old")
    assert job.urn in k8s_helpers.job(deployment, "migrate").dependencies
    assert k8s_helpers.job(deployment, "migrate").urn in deployment.one("Deployment", "web").dependencies
    assert deployment.one("Role", "stop-old-scaler").inputs["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web", "worker"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["web", "worker"],
         "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]
    pod = pod_spec(job)
    assert pod["serviceAccountName"] == "stop-old-scaler" and pod["automountServiceAccountToken"] is True
    (box,) = pod["containers"]
    assert box["image"] == s.PYTHON_IMAGE and box["command"][-1] == "stop"
    assert box["securityContext"]["runAsNonRoot"] is True and box["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in box["env"]}
    assert json.loads(env["STOP_TARGETS"]) == [
        {"resource": "deployments", "name": "web", "images": {"web": k8s_helpers.IMAGE}},
        {"resource": "deployments", "name": "worker", "images": {"worker": k8s_helpers.IMAGE}}]
    assert env["STOP_WAIT_SECONDS"] == str(45 + k8s_stop.WAIT_MARGIN_SECONDS)  # web's grace is the longest
    policy = deployment.one("NetworkPolicy", "stop-old-traffic").inputs["spec"]
    assert policy["ingress"] == [] and len(policy["egress"]) == 2
    assert {p["port"] for p in policy["egress"][1]["ports"]} == {443, 6443, 16443}
    for name in ("web", "worker"):  # Pulumi takes the replica count back from the Job's scale patch
        assert deployment.one("Deployment", name).inputs["metadata"]["annotations"] == k8s_stop.PATCH_FORCE
    # A store is never stopped: Pulumi takes no replica count back from it (its claims' sizes only).
    assert "pulumi.com/patchForce" not in deployment.one("StatefulSet", "postgres").inputs["metadata"].get(
        "annotations", {})
    assert not [j for j in deployment.of_kind("Job") if "-resume-" in j.object_name]


def test_the_job_keeps_its_name_while_no_image_changes_and_gets_a_new_one_on_an_upgrade():
    first = stop_job(on_kubernetes(with_stop(k8s_helpers.sample_spec())), name="stop-old")
    again = stop_job(on_kubernetes(with_stop(k8s_helpers.sample_spec(app_key="another-key"))), name="stop-old")
    upgraded = stop_job(on_kubernetes(with_stop(k8s_helpers.sample_spec(), image="ghcr.io/example/app:2.0.0")),
                        name="stop-old")
    assert again.object_name == first.object_name != upgraded.object_name


def test_autoscaled_deployments_are_scaled_back_to_their_minimum_once_applied_again():
    deployment = on_kubernetes(with_stop(k8s_helpers.sample_spec()),
                               {"autoscaling": {"web": {"minReplicas": 2, "maxReplicas": 5}}})
    resume = stop_job(deployment, "resume", name="stop-old")
    box = pod_spec(resume)["containers"][0]
    assert box["command"][-1] == "resume"
    targets = json.loads({e["name"]: e["value"] for e in box["env"]}["STOP_TARGETS"])
    assert [(t["name"], t["replicas"]) for t in targets] == [("web", 2)]
    assert deployment.one("Deployment", "web").urn in resume.dependencies
    assert stop_job(deployment, name="stop-old").urn in resume.dependencies
    assert "annotations" not in deployment.one("Deployment", "web").inputs["metadata"]  # its autoscaler's count
    assert deployment.one("Deployment", "worker").inputs["metadata"]["annotations"] == k8s_stop.PATCH_FORCE


def test_sentry_on_kubernetes_stops_then_backs_up_then_migrates_then_starts_the_new_version():
    deployment = deploy(ERRORS_ONLY, secret_keys=("sentry",))
    jobs = {j.inputs["metadata"]["labels"]["app.kubernetes.io/component"]: j for j in deployment.of_kind("Job")}
    stop = stop_job(deployment)
    assert stop.urn in jobs["pre-upgrade-backup"].dependencies
    assert jobs["pre-upgrade-backup"].urn in jobs["clickhouse-pre-upgrade-backup"].dependencies
    for migration in MIGRATIONS:
        assert jobs["clickhouse-pre-upgrade-backup"].urn in jobs[migration].dependencies
    for new in ("web", "taskworker"):
        assert jobs["sentry-upgrade"].urn in deployment.one("Deployment", new).dependencies, new
    assert jobs["sentry-upgrade"].urn in deployment.one("CronJob", "sentry-cleanup").dependencies
    assert jobs["snuba-bootstrap"].urn in deployment.one("Deployment", "snuba-api").dependencies
    assert jobs["sentry-upgrade"].urn in deployment.one("StatefulSet", "taskbroker").dependencies
    role = deployment.one("Role", f"{STOP}-scaler").inputs["rules"]
    assert {"apiGroups": ["apps"], "resources": ["statefulsets/scale"], "resourceNames": ["taskbroker"],
            "verbs": ["patch"]} in role
    stopped = json.loads({e["name"]: e["value"] for e in pod_spec(stop)["containers"][0]["env"]}["STOP_TARGETS"])
    assert {t["name"] for t in stopped} == set(sentry_spec().for_platform("kubernetes").stops[0].services)
    assert pod_spec(deployment.one("Deployment", "web"))["terminationGracePeriodSeconds"] == 60
