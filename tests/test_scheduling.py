"""Does each stack fit the nodes its file says it runs on? The default stacks (Pulumi.dev.yaml on
Docker, Pulumi.prod.yaml GlitchTip on Kubernetes) and every example are deployed under mocks, and
their pods packed on their stated nodes by tests/scheduler_model.py (its assumptions at its top):
after the cluster's add-ons, while steady, while an install Job runs, and while Deployments roll.
On Docker every long-running container's memory reservation (its limit where it has none) must
fit what the host file says the stack may use. A change that no longer fits fails here, naming the pending pods."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests import scheduler_model as model
from tests.harness import deploy
from tests.test_example_stacks import EXAMPLES, FILES, example, with_secrets

ROOT = Path(__file__).resolve().parents[1]
STACKS = {**{name: EXAMPLES / name for name in FILES}, "Pulumi.dev.yaml": ROOT / "Pulumi.dev.yaml",
          "Pulumi.prod.yaml": ROOT / "Pulumi.prod.yaml"}


def configuration(name: str) -> tuple[dict, tuple[str, ...]]:
    if name.startswith("Pulumi."):
        config = yaml.safe_load(STACKS[name].read_text())["config"]
        return {key.split(":", 1)[1]: value for key, value in config.items()}, ()
    values, secrets = example(name)
    return with_secrets(values, secrets)


def deployed(name: str):
    values, secret_keys = configuration(name)
    return deploy(values, secret_keys=secret_keys)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_stack_states_its_nodes_where_a_test_can_read_them(name):
    kind, stated = model.statement(STACKS[name])
    platform = configuration(name)[0].get("platform", "docker")
    assert kind == {"docker": "host", "kubernetes": "cluster"}[platform], name
    if kind == "cluster":
        assert {"nodes", "cpu", "memoryGiB", "distribution", "addons"} <= set(stated)
        assert set(stated["addons"]) <= set(model.ADDONS), f"unknown add-ons {set(stated['addons']) - set(model.ADDONS)}"
        cpu, memory = model.allocatable(stated)
        assert 0 < cpu <= stated["cpu"] * 1000 and 0 < memory < stated["memoryGiB"] * 1024
    else:
        assert {"cpu", "memoryGiB", "freeMiB"} <= set(stated) and stated["freeMiB"] <= stated["memoryGiB"] * 1024


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_stack_fits_the_nodes_it_states(name):
    kind, stated = model.statement(STACKS[name])
    deployment = deployed(name)
    if kind == "host":
        assert model.docker_fits(stated, deployment.containers()) is None
        return
    pending = model.pending_by_moment(stated, deployment.k8s())
    assert pending == {"steady": [], "install": [], "rollout": []}, model.totals(stated, deployment.k8s())


def test_the_autoscaled_web_is_packed_at_its_most_replicas():
    # Pulumi.prod.yaml: web autoscales up to 6, the worker runs 2: the model counts 6 web pods.
    deployment = deployed("Pulumi.prod.yaml")
    pods = model.workloads(deployment.k8s())
    assert len([p for p in pods.services if p.name.startswith("web-")]) == 6
    assert len([p for p in pods.services if p.name.startswith("worker-")]) == 2
    assert {p.name for p in pods.surges} >= {"web-surge", "worker-surge"}


def test_the_model_leaves_pods_pending_when_the_node_is_too_small():
    kind, stated = model.statement(STACKS["Pulumi.prod.yaml"])
    deployment = deployed("Pulumi.prod.yaml")
    small = {**stated, "nodes": 1, "cpu": 1, "memoryGiB": 2}
    pending = model.pending_by_moment(small, deployment.k8s())
    assert pending["steady"] and all(pending.values())


def test_add_on_allowances_and_reservations_come_off_what_the_nodes_offer():
    bare = {"nodes": 1, "cpu": 4, "memoryGiB": 8, "distribution": "microk8s", "addons": []}
    managed = {**bare, "distribution": "managed"}
    # 8 GiB: 3% to the kernel, 100Mi eviction; GKE's formula keeps 25% of 4 GiB + 20% of 4 GiB more
    assert model.allocatable(bare) == (4000, int(8192 * 0.97 - 100))
    assert model.allocatable(managed) == (4000 - 80, int(8192 * 0.97 - 1843 - 100))
    nodes, _ = model.place({**bare, "addons": ["coredns", "calico"]},
                           model.addon_pods(["coredns", "calico"], 1))
    assert nodes[0].used() == (350, 70)


def test_glitchtip_requests_its_typical_use_within_limits_and_the_operator_may_set_them():
    from components.apps.glitchtip.settings import parse_settings
    from components.validation import Problems, Section

    def parsed(data):
        problems = Problems()
        return parse_settings(Section(data, "error-tracking:glitchtip", problems), problems), problems.items

    settings, _ = parsed({"resources": {"web": {"memoryMb": 512, "cpu": 1}, "valkey": {"memoryMb": 16}}})
    web, valkey = settings.resources["web"], settings.resources["valkey"]
    assert (web.memory_mb, web.reserved_memory_mb, web.cpu, web.reserved_cpu) == (512, 224, 1.0, 0.1)
    assert valkey.reserved_memory_mb == 16  # never above the limit
    settings, _ = parsed({"resources": {"web": {"memoryRequestMb": 200, "cpuRequest": 0.25}}})
    assert (settings.resources["web"].reserved_memory_mb, settings.resources["web"].reserved_cpu) == (200, 0.25)
    _, problems = parsed({"resources": {"web": {"memoryRequestMb": 600}}})
    assert problems == ["error-tracking:glitchtip.resources.web.memoryRequestMb: must be a whole number from 16 to "
                        "256, got 600"]


def test_the_manifests_for_checkov_are_every_kubernetes_stacks_objects(tmp_path):
    from tests.render_manifests import render

    written = render(tmp_path)
    assert sorted(p.name for p in written) == ["Pulumi.prod.yaml", "sentry-managed-cluster.yaml",
                                               "sentry-microk8s.yaml"]
    objects = list(yaml.safe_load_all(written[0].read_text()))
    assert len(objects) == len(deployed("Pulumi.prod.yaml").k8s())
    assert {"apiVersion", "kind", "metadata"} <= set(objects[0])
