"""A StopFirst step on Kubernetes: a Job scales to zero the listed Deployments and StatefulSets
whose pod template runs other images than this description gives them, and waits until their
pods are gone; each pod gets its own terminationGracePeriodSeconds to finish.

The Job talks to the API server with a service account of its own that may get those objects by
name, patch their `scale` subresource by name, and list pods (to see them go); its network policy
admits DNS and the API server only. It is named after a hash of what it compares (the images), so
an `up` that changes no image keeps the finished Job and runs nothing; a first install finds no
object and stops nothing.

What comes back: Pulumi applies the new Deployment with its replica count once the migrations
are done. The Job's scale patch made it co-owner of `spec.replicas`, so those objects carry
`pulumi.com/patchForce` (Pulumi's declaration wins the field back). An autoscaled Deployment has
no declared count, and a HorizontalPodAutoscaler leaves a target at zero alone: a second Job,
after those Deployments are applied, scales each one still at zero to its autoscaler's minimum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import access, network, pods
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import short_hash
from components.spec import PYTHON_IMAGE, Resources, Service, StopFirst, Task

RUN_AS = 65534  # nobody
FIELD_MANAGER = "error-tracking-stop-first"
PATCH_FORCE = {"pulumi.com/patchForce": "true"}
WAIT_MARGIN_SECONDS = 120
DEFAULT_GRACE_SECONDS = 30  # Kubernetes' own terminationGracePeriodSeconds

# Run as: python3 -c SCRIPT stop|resume, with STOP_TARGETS (JSON) and STOP_WAIT_SECONDS.
SCRIPT = r"""
import json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request
sa = os.environ.get("SERVICE_ACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
mode, targets = sys.argv[1], json.loads(os.environ["STOP_TARGETS"])
host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
base = os.environ.get("KUBERNETES_API") or "https://%s:%s" % (
    "[%s]" % host if ":" in host else host, os.environ.get("KUBERNETES_SERVICE_PORT", "443"))
namespace = open(os.path.join(sa, "namespace")).read().strip()
token = open(os.path.join(sa, "token")).read().strip()
tls = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt")) if base.startswith("https:") else None

def call(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer " + token, "Accept": "application/json",
                                              "Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(request, context=tls, timeout=30) as response:
        return json.loads(response.read() or b"{}")

def scale(path, replicas):
    call("PATCH", path + "/scale?fieldManager=" + os.environ["FIELD_MANAGER"], {"spec": {"replicas": replicas}})

waiting = {}
for target in targets:
    path = "/apis/apps/v1/namespaces/%s/%s/%s" % (namespace, target["resource"], target["name"])
    try:
        found = call("GET", path)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        print("%s: not deployed yet" % target["name"])
        continue
    replicas = found["spec"].get("replicas", 1)
    if mode == "resume":
        if replicas == 0:
            scale(path, target["replicas"])
            print("%s: back to %d replica(s); its autoscaler takes over" % (target["name"], target["replicas"]))
        continue
    images = {c["name"]: c["image"] for c in found["spec"]["template"]["spec"]["containers"]}
    if images == target["images"]:
        print("%s: runs the images being deployed" % target["name"])
        continue
    if replicas:
        scale(path, 0)
    labels = found["spec"]["selector"]["matchLabels"]
    waiting[target["name"]] = ",".join("%s=%s" % item for item in sorted(labels.items()))
    print("%s: stopping %d replica(s) of %s" % (target["name"], replicas, ", ".join(sorted(set(images.values())))))
deadline = time.monotonic() + int(os.environ.get("STOP_WAIT_SECONDS", "0"))
while waiting:
    for name, selector in list(waiting.items()):
        pods = call("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (namespace, urllib.parse.quote(selector)))
        if not [p for p in pods.get("items", []) if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]:
            print("%s: stopped" % name)
            del waiting[name]
    if waiting and time.monotonic() > deadline:
        sys.exit("still running after %ss: %s" % (os.environ.get("STOP_WAIT_SECONDS"), ", ".join(sorted(waiting))))
    if waiting:
        time.sleep(1)
if mode == "stop":
    print("nothing of the previous version runs")
""".strip()


def workload(stop: StopFirst) -> Task:
    """The Job's pod as a spec workload, hardened like every other."""
    return Task(name=stop.name, image=PYTHON_IMAGE, resources=Resources(memory_mb=64, cpu=0.1), run_as_user=RUN_AS,
                run_as_group=RUN_AS, read_only_root=True, stop_grace_seconds=5,
                env={"PYTHONDONTWRITEBYTECODE": "1", "FIELD_MANAGER": FIELD_MANAGER})


def annotations(ctx: Context, s: Service) -> dict[str, str]:
    """What a stopped service's object carries so that Pulumi takes its replica count back."""
    stopped = any(s.name in stop.services for stop in ctx.spec.stops)
    return dict(PATCH_FORCE) if stopped and s.name not in ctx.settings.autoscaling else {}


@dataclass
class Stopping:
    """The stop Job and what both Jobs of a step share: their account and network policy."""

    job: pulumi.Resource
    account: str
    needs: list


def declare(ctx: Context, stop: StopFirst) -> Stopping:
    """The stop Job (with its account and policy); what runs after the step waits for `job`."""
    component = ctx.component(stop.name)
    targets = [_target(ctx, ctx.spec.service(name)) for name in stop.services]
    account, rbac = access.scaler_access(ctx, component, targets)
    needs = [*rbac, _policy(ctx, component)]
    grace = max([ctx.spec.service(n).stop_grace_seconds or DEFAULT_GRACE_SECONDS for n in stop.services] or [0])
    job = _job(ctx, stop, "stop", targets, grace + WAIT_MARGIN_SECONDS, short_hash(targets), account, needs)
    return Stopping(job, account, needs)


def resume(ctx: Context, stop: StopFirst, stopping: Stopping) -> Optional[pulumi.Resource]:
    """The autoscaled ones, once applied again, back to their autoscaler's minimum (None: none).
    It runs once after each stop Job (its name follows the stop Job's)."""
    scaled = [n for n in stop.services if n in ctx.settings.autoscaling]
    if not scaled:
        return None
    targets = [{**_target(ctx, ctx.spec.service(n)), "replicas": ctx.settings.autoscaling[n].min_replicas}
               for n in scaled]
    fingerprint = stopping.job.metadata.apply(lambda m: short_hash([(m or {}).get("name", ""), targets]))
    return _job(ctx, stop, "resume", targets, WAIT_MARGIN_SECONDS, fingerprint, stopping.account,
                [*stopping.needs, stopping.job, *(ctx.ready[n] for n in scaled)])


def _target(ctx: Context, s: Service) -> dict[str, Any]:
    return {"resource": "statefulsets" if s.stateful else "deployments", "name": ctx.component(s),
            "images": {pods.container_name(s): s.image}}


def _job(ctx: Context, stop: StopFirst, mode: str, targets: list, wait: int, fingerprint, account: str,
         needs: list) -> pulumi.Resource:
    component = ctx.component(stop.name)
    task = workload(stop)
    container = pods.container(task, config_map=None, secret=None, volume_names={},
                               command=["python3", "-c", SCRIPT, mode])
    container["env"] = [{"name": k, "value": v} for k, v in sorted({
        **task.env, "STOP_TARGETS": json.dumps(targets, sort_keys=True), "STOP_WAIT_SECONDS": str(wait)}.items())]
    job_spec = {
        "backoff_limit": 1,
        # As every Job's (a slow image pull counts too); the script gives up after `wait` itself.
        "active_deadline_seconds": ctx.settings.task_timeout_seconds,
        "template": {
            "metadata": {"labels": ctx.template_labels(component)},
            "spec": pods.pod_spec(task, [container], volumes=[], restart_policy="Never", service_account=account),
        },
    }
    name = pulumi.Output.from_input(fingerprint).apply(lambda f: f"{component}-{mode}-{short_hash([f, job_spec])}")
    timeout = f"{ctx.settings.task_timeout_seconds + 120}s"
    return k8s.batch.v1.Job(
        f"{ctx.name}-{component}-{mode}-job",
        metadata={**ctx.meta("", component, annotations={"pulumi.com/replaceUnready": "true"}), "name": name},
        spec=job_spec,
        opts=ctx.opts(*needs, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
    )


def _policy(ctx: Context, component: str) -> pulumi.Resource:
    """DNS and the API server, as for every API client; nothing reaches the Job."""
    # On Cilium the Job waits for the policy that lets it reach the API server too.
    return network.component_policy(ctx, component, [], network.api_client_egress(ctx.settings), ctx.api_policy)
