"""A small model of what kube-scheduler would do with the pods a stack declares, on the nodes its
stack file says it runs on.

Assumptions, each with its source (or marked as an assumption):
- A node's allocatable memory is its capacity minus kube-reserved, system-reserved and the hard
  eviction threshold (kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources). The
  kubelet's default threshold is memory.available<100Mi (.../scheduling-eviction/node-pressure-
  eviction). Capacity is the kernel's MemTotal, below the installed size by what the kernel and
  firmware keep: 3% here (an assumption; an 8 GiB VM reports about 7.7-7.8 GiB).
- Reservations by distribution: `microk8s` and `kubeadm` reserve nothing by default (their kubelet
  arguments set no kube-/system-reserved); `managed` uses GKE's published formula
  (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes: memory 25% of the first 4 GiB,
  20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above; CPU 6% of the first core, 1%
  of the next, 0.5% of the next 2, 0.25% above 4), which is close to EKS' and AKS' own.
- Cluster add-ons as their manifests request them (ADDONS below, each with its source); those whose
  manifests request nothing reserve nothing, although they use memory. DaemonSets run on every node.
- Pods: each Deployment at its replicas, or its autoscaler's maxReplicas (the cluster must hold what
  the autoscaler may ask for); each StatefulSet one pod; a Job's or CronJob's pod while it runs.
  What runs at once, three moments: (1) steady: every service and every CronJob (schedules overlap:
  the ClickHouse backup waits for the Postgres dump, the watchdog runs every 5 minutes); (2) install
  or upgrade: that plus the largest one-shot Job (install steps run one after the other, before the
  services they prepare are replaced); (3) rollout: that plus one surge pod for every Deployment that
  rolls with a maxSurge above 0 (they may roll together; one that removes its old pod first needs no
  room).
- Placement as kube-scheduler's defaults do it: a pod goes to a node whose unreserved CPU and
  memory hold its requests (NodeResourcesFit), the least allocated one first (LeastAllocated);
  larger pods first (an optimistic order: the real scheduler takes them as they come).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

import yaml

MIB_PER_GIB = 1024
EVICTION_HARD_MIB = 100
KERNEL_SHARE = 0.03

# Add-ons by name: (cpu millicores, memory MiB) per pod, pods, per node (DaemonSet)?, source.
ADDONS: Mapping[str, tuple[int, int, int, bool, str]] = {
    "coredns": (100, 70, 1, False, "canonical/microk8s-core-addons addons/dns/coredns.yaml; kubernetes "
                "cluster/addons/dns/coredns: requests 100m, 70Mi"),
    "coredns-ha": (100, 70, 2, False, "CoreDNS as managed clusters run it: 2 replicas (EKS, GKE kube-dns), 100m/70Mi"),
    "calico": (250, 0, 1, True, "MicroK8s' default CNI, calico-node DaemonSet: requests cpu 250m"),
    "ingress-microk8s": (0, 0, 1, True, "canonical/microk8s-core-addons addons/ingress/ingress.yaml: "
                         "nginx-ingress-microk8s-controller DaemonSet, no requests"),
    "ingress-nginx": (100, 90, 1, False, "kubernetes/ingress-nginx chart values: controller requests 100m, 90Mi"),
    "gateway-proxy": (100, 90, 2, False, "an assumption: two data-plane pods of the cluster's Gateway, "
                      "sized like ingress-nginx's controller"),
    "cert-manager": (0, 0, 3, False, "cert-manager.yaml (controller, cainjector, webhook): no requests"),
    "hostpath-storage": (0, 0, 1, False, "MicroK8s hostpath-provisioner Deployment: no requests"),
    "metrics-server": (100, 200, 1, False, "kubernetes-sigs/metrics-server components.yaml: requests 100m, 200Mi"),
}

STATEMENT = re.compile(r"^#\s*(cluster|host):\s*(\{.*\})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Pod:
    name: str
    cpu_m: int
    memory_mi: int


@dataclass
class Node:
    name: str
    cpu_m: int
    memory_mi: int
    pods: list[Pod] = field(default_factory=list)

    def used(self) -> tuple[int, int]:
        return sum(p.cpu_m for p in self.pods), sum(p.memory_mi for p in self.pods)

    def fits(self, pod: Pod) -> bool:
        cpu, memory = self.used()
        return cpu + pod.cpu_m <= self.cpu_m and memory + pod.memory_mi <= self.memory_mi

    def free_share(self) -> float:
        cpu, memory = self.used()
        return ((self.cpu_m - cpu) / self.cpu_m + (self.memory_mi - memory) / self.memory_mi) / 2


def statement(path: Path) -> tuple[str, dict]:
    """The machine-readable `# cluster: {...}` or `# host: {...}` line of a stack file."""
    found = STATEMENT.findall(path.read_text())
    assert len(found) == 1, f"{path.name}: needs exactly one `# cluster: {{...}}` or `# host: {{...}}` line"
    kind, text = found[0]
    return kind, yaml.safe_load(text)


def _managed_reserved(cpu: float, memory_gib: float) -> tuple[int, int]:
    memory = 0.0
    for size, share in ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02)):
        part = min(max(memory_gib, 0), size)
        memory += part * share
        memory_gib -= part
    cores = 0.0
    for size, share in ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025)):
        part = min(max(cpu, 0), size)
        cores += part * share
        cpu -= part
    return round(cores * 1000), round(memory * MIB_PER_GIB)


def allocatable(cluster: Mapping) -> tuple[int, int]:
    """(cpu millicores, memory MiB) one node offers to pods."""
    cpu, memory_gib = float(cluster["cpu"]), float(cluster["memoryGiB"])
    capacity_mi = memory_gib * MIB_PER_GIB * (1 - KERNEL_SHARE)
    reserved_cpu, reserved_mi = (0, 0)
    if cluster["distribution"] == "managed":
        reserved_cpu, reserved_mi = _managed_reserved(cpu, memory_gib)
    elif cluster["distribution"] not in ("microk8s", "kubeadm"):
        raise ValueError(f"unknown distribution {cluster['distribution']!r}")
    return int(cpu * 1000) - reserved_cpu, int(capacity_mi - reserved_mi - EVICTION_HARD_MIB)


def quantity_m(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def quantity_mi(value: str) -> int:
    assert value.endswith("Mi"), value
    return int(value[:-2])


def _pod(name: str, template: Mapping) -> Pod:
    cpu = memory = 0
    for container in template["spec"]["containers"]:
        requests = container["resources"]["requests"]
        cpu += quantity_m(requests["cpu"])
        memory += quantity_mi(requests["memory"])
    return Pod(name, cpu, memory)


@dataclass
class Workloads:
    services: list[Pod] = field(default_factory=list)
    surges: list[Pod] = field(default_factory=list)
    jobs: list[Pod] = field(default_factory=list)
    cronjobs: list[Pod] = field(default_factory=list)


def workloads(objects: Iterable) -> Workloads:
    """The pods of a deployment's Kubernetes objects (tests.harness.Declared)."""
    found = Workloads()
    scaled = {h.inputs["spec"]["scaleTargetRef"]["name"]: h.inputs["spec"]["maxReplicas"]
              for h in objects if h.kind == "HorizontalPodAutoscaler"}
    for d in objects:
        spec = d.inputs.get("spec", {})
        name = d.object_name
        if d.kind == "Deployment":
            pod = _pod(name, spec["template"])
            count = scaled.get(name, spec.get("replicas", 1))
            found.services += [Pod(f"{name}-{i}", pod.cpu_m, pod.memory_mi) for i in range(count)]
            strategy = spec.get("strategy", {})
            if strategy.get("type") == "RollingUpdate" and strategy.get("rollingUpdate", {}).get("maxSurge", 1):
                found.surges.append(Pod(f"{name}-surge", pod.cpu_m, pod.memory_mi))
        elif d.kind == "StatefulSet":
            found.services.append(_pod(name, spec["template"]))
        elif d.kind == "Job":
            found.jobs.append(_pod(name, spec["template"]))
        elif d.kind == "CronJob":
            found.cronjobs.append(_pod(name, spec["jobTemplate"]["spec"]["template"]))
        elif d.kind == "DaemonSet":
            raise AssertionError("the program declares no DaemonSet; the model would need to place one per node")
    return found


def addon_pods(names: Iterable[str], nodes: int) -> list[Pod]:
    pods = []
    for name in names:
        cpu, memory, count, per_node, _ = ADDONS[name]
        for index in range((count * nodes) if per_node else count):
            pods.append(Pod(f"{name}-{index}", cpu, memory))
    return pods


def place(cluster: Mapping, pods: Iterable[Pod]) -> tuple[list[Node], list[Pod]]:
    """Nodes with the pods placed on them, and the pods left Pending."""
    cpu, memory = allocatable(cluster)
    nodes = [Node(f"node-{i}", cpu, memory) for i in range(int(cluster["nodes"]))]
    pending = []
    for pod in sorted(pods, key=lambda p: (p.memory_mi, p.cpu_m), reverse=True):
        candidates = [n for n in nodes if n.fits(pod)]
        if not candidates:
            pending.append(pod)
            continue
        max(candidates, key=Node.free_share).pods.append(pod)
    return nodes, pending


def moments(found: Workloads, addons: list[Pod]) -> dict[str, list[Pod]]:
    steady = [*addons, *found.services, *found.cronjobs]
    largest_job = max(found.jobs, key=lambda p: (p.memory_mi, p.cpu_m), default=None)
    return {
        "steady": steady,
        "install": [*steady, *([largest_job] if largest_job else [])],
        "rollout": [*steady, *found.surges],
    }


def pending_by_moment(cluster: Mapping, objects: Iterable) -> dict[str, list[str]]:
    """Each moment's pods that no node can take: empty lists when everything fits."""
    found = workloads(list(objects))
    addons = addon_pods(cluster.get("addons", ()), int(cluster["nodes"]))
    return {moment: [f"{p.name} ({p.cpu_m}m, {p.memory_mi}Mi)" for p in place(cluster, pods)[1]]
            for moment, pods in moments(found, addons).items()}


def totals(cluster: Mapping, objects: Iterable) -> dict[str, tuple[int, int]]:
    """What each moment requests in all, beside what the nodes offer (for reports)."""
    found = workloads(list(objects))
    addons = addon_pods(cluster.get("addons", ()), int(cluster["nodes"]))
    cpu, memory = allocatable(cluster)
    result = {"allocatable": (cpu * int(cluster["nodes"]), memory * int(cluster["nodes"]))}
    for moment, pods in moments(found, addons).items():
        result[moment] = (sum(p.cpu_m for p in pods), sum(p.memory_mi for p in pods))
    return result


def docker_memory_mib(containers: Mapping[str, object]) -> int:
    """What a Docker host must hold: every long-running container's memory reservation, or its
    limit where it has none (one-shot tasks run before the services they prepare). Docker's
    reservation is the soft limit the kernel reclaims a container towards under host memory pressure
    (docs.docker.com/engine/containers/resource_constraints: --memory-reservation), so the
    reservations are what the host promises; limits above them borrow what idle containers leave."""
    total = 0
    for container in containers.values():
        inputs = container.inputs
        if inputs.get("restart") == "unless-stopped":
            total += int(inputs.get("memoryReservation") or inputs["memory"])
    return total


def docker_fits(host: Mapping, containers: Mapping[str, object]) -> Optional[str]:
    need = docker_memory_mib(containers)
    have = int(host["freeMiB"])
    return None if need <= have else f"the containers' reservations add up to {need} MiB, the host offers {have}"
