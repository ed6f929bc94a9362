"""Services, tasks and scheduled tasks as Kubernetes workloads.

Stateful services become StatefulSets (their claims kept when deleted or scaled down), the others
Deployments with the app's replica count, an autoscaler where configured and a disruption budget
when more than one replica runs. Tasks are Jobs named after what they run (a new image runs a new
migration); scheduled tasks CronJobs. pulumi-kubernetes awaits readiness and completion, so a
dependent is applied only once what it waits for is ready.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import access, pods, report, stop, storage
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import dns_label, job_name, short_hash, task_fingerprint
from components.spec import REPORT_PREFIX, ScheduledTask, Service, Task, Workload



def rollout(s: Service, replicas: int) -> dict[str, Any]:
    """How a Deployment replaces its pods. Two or more replicas: one new pod before an old one goes,
    so some always serve. One replica of a scalable service: the old pod goes first, so a rollout
    never waits for room a small node does not have (a surge pod that cannot be scheduled stalls it
    until `pulumi up` times out); run two for zero downtime. A singleton (it may hold a
    ReadWriteOnce volume): recreated."""
    if not s.scalable:
        return {"type": "Recreate"}
    if replicas >= 2:
        return {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": 1}}
    return {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 1, "max_surge": 0}}

def _claim_deps(ctx: Context, w: Workload, claims) -> list[pulumi.Resource]:
    return [claims[m.volume] for m in w.mounts if m.volume in claims]


def _file_deps(w: Workload, files) -> list[pulumi.Resource]:
    return [files[f.file] for f in w.files]


# How long pulumi-kubernetes waits for a Deployment or StatefulSet to become ready by default.
DEFAULT_AWAIT_SECONDS = 600
AWAIT_MARGIN_SECONDS = 300


def await_timeouts(s: Service) -> Optional[pulumi.CustomTimeouts]:
    """Room for the slowest start the app allows: its startup probe's whole window plus a margin,
    when that is longer than Pulumi's default wait (a consumer may take minutes to write its first
    heartbeat); otherwise Pulumi's default."""
    if s.health is None:
        return None
    startup = pods.probe(s.health, startup=True)
    window = startup["period_seconds"] * startup["failure_threshold"] + AWAIT_MARGIN_SECONDS
    if window <= DEFAULT_AWAIT_SECONDS:
        return None
    return pulumi.CustomTimeouts(create=f"{window}s", update=f"{window}s")


def service(ctx: Context, s: Service, claims, files) -> None:
    component = ctx.component(s)
    config_map, secret, env_deps, checksum = storage.env(ctx, s)
    owned = [v for v in ctx.spec.volumes if storage.owner(ctx, v) is s]
    volumes, names, mounts = storage.pod_volumes(ctx, s, templated=[v.name for v in owned])
    granted = access.watch_access(ctx, s)
    containers = [pods.container(s, config_map=config_map, secret=secret, volume_names=names, extra_mounts=mounts)]
    helper_deps, checksum = _helpers(ctx, s, containers, volumes, checksum, claims, files)
    template = {
        "metadata": {"labels": ctx.template_labels(component), "annotations": {"checksum/config": checksum}},
        "spec": {**pods.pod_spec(
            s,
            containers,
            volumes=volumes,
            service_account=granted[0] if granted else None,
        ), **storage.colocation(ctx, s)},
    }
    deps = [*env_deps, *_file_deps(s, files), *ctx.after(s), *_claim_deps(ctx, s, claims),
            *(granted[1] if granted else ()), *helper_deps]
    # A stop step may scale it to zero before an upgrade: Pulumi takes the replica count back.
    annotations = stop.annotations(ctx, s)
    metadata = ctx.meta(component, component, **({"annotations": annotations} if annotations else {}))
    if s.stateful:
        workload = k8s.apps.v1.StatefulSet(
            f"{ctx.name}-{component}",
            metadata=ctx.meta(component, component, annotations={**annotations, **_claim_sizes(ctx, component)}),
            spec={
                "service_name": component,
                "replicas": 1,
                "selector": {"match_labels": ctx.selector(component)},
                "template": template,
                # The claims hold the data: never deleted with the StatefulSet or a scale-down.
                "persistent_volume_claim_retention_policy": {"when_deleted": "Retain", "when_scaled": "Retain"},
                "volume_claim_templates": [
                    {"metadata": {"name": dns_label(v.name, "volume"), "labels": ctx.template_labels(component)},
                     "spec": storage.claim_spec(ctx, v)}
                    for v in owned
                ],
            },
            # Templates are immutable: a change would replace the StatefulSet, its claim unchanged
            # (claims.py checks sizes and classes against the claims instead).
            opts=ctx.opts(*deps, custom_timeouts=await_timeouts(s), ignore_changes=["spec.volumeClaimTemplates"]),
        )
    else:
        autoscaling = ctx.settings.autoscaling.get(s.name)
        spec: dict[str, Any] = {
            "selector": {"match_labels": ctx.selector(component)},
            "template": template,
            "strategy": rollout(s, autoscaling.min_replicas if autoscaling else s.replicas),
        }
        if autoscaling is None:
            # With an autoscaler the replica count is its job: leaving it out keeps `up` from resetting it.
            spec["replicas"] = s.replicas
        workload = k8s.apps.v1.Deployment(
            f"{ctx.name}-{component}",
            metadata=metadata,
            spec=spec,
            opts=ctx.opts(*deps, custom_timeouts=await_timeouts(s)),
        )
        _scale(ctx, s, component, workload)
    ctx.ready[s.name] = workload
    for helper in ctx.spec.helpers_of(s.name):
        ctx.ready[helper.name] = workload
    if s.ports:
        k8s.core.v1.Service(
            f"{ctx.name}-{component}-service",
            # Named exactly like the app's service: other workloads reach `postgres:5432`.
            metadata=ctx.meta(component, component),
            spec={
                "type": "ClusterIP",
                "selector": ctx.selector(component),
                "ports": [
                    {"name": n, "port": p.number, "target_port": p.number, "protocol": "TCP"}
                    for p, n in zip(s.ports, pods.port_names(s.ports))
                ],
            },
            opts=ctx.opts(),
        )


def _claim_sizes(ctx: Context, statefulset: str) -> dict[str, pulumi.Input[str]]:
    """The sizes of the StatefulSet's claims, as checked (claims.py): the StatefulSet is declared
    only once they are, so a refused size never reaches the cluster."""
    if ctx.claims_checked is None:
        return {}
    suffix = f"-{statefulset}-0"
    return {"error-tracking/claim-sizes": ctx.claims_checked.apply(lambda checked: ",".join(
        f"{claim}={item['sizeGi']}Gi" for claim, item in sorted(checked.items()) if claim.endswith(suffix)))}


def _helpers(ctx: Context, s: Service, containers: list, volumes: list, checksum, claims, files):
    """The services that run beside `s` (Workload.beside) as more containers of its pods, sharing
    its local volumes (emptyDirs); their own files and scratch get volumes of their own. Returns
    what they wait for and the pods' checksum, which then covers their values too."""
    helpers = ctx.spec.helpers_of(s.name)
    if not helpers:
        return [], checksum
    deps: list[pulumi.Resource] = []
    sums = [checksum]
    for index, helper in enumerate(helpers):
        config_map, secret, env_deps, helper_sum = storage.env(ctx, helper)
        extra, names, mounts = storage.pod_volumes(ctx, helper, prefix=f"helper-{index}-")
        present = {v["name"] for v in volumes}
        volumes.extend(v for v in extra if v["name"] not in present)
        containers.append(pods.container(helper, config_map=config_map, secret=secret, volume_names=names,
                                         extra_mounts=mounts))
        deps += [*env_deps, *_file_deps(helper, files), *_claim_deps(ctx, helper, claims)]
        sums.append(helper_sum)
    return deps, pulumi.Output.all(*sums).apply(lambda values: short_hash(values, 16))


def _scale(ctx: Context, s: Service, component: str, deployment: k8s.apps.v1.Deployment) -> None:
    autoscaling = ctx.settings.autoscaling.get(s.name)
    if autoscaling is not None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{ctx.name}-{component}-hpa",
            metadata=ctx.meta(component, component),
            spec={
                "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": component},
                "min_replicas": autoscaling.min_replicas,
                "max_replicas": autoscaling.max_replicas,
                "metrics": [{
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "average_utilization": autoscaling.target_cpu_percent}},
                }],
            },
            opts=ctx.opts(deployment),
        )
    guaranteed = autoscaling.min_replicas if autoscaling else s.replicas
    if guaranteed > 1:
        k8s.policy.v1.PodDisruptionBudget(
            f"{ctx.name}-{component}-pdb",
            metadata=ctx.meta(component, component),
            spec={"max_unavailable": 1, "selector": {"match_labels": ctx.selector(component)}},
            opts=ctx.opts(),
        )


def task(ctx: Context, t: Task, claims, files) -> Optional[tuple[k8s.batch.v1.Job, str]]:
    """A Job; for a reporting task also the Secret its report lands in (returned with the Job)."""
    component = ctx.component(t)
    config_map, secret, env_deps, checksum = storage.env(ctx, t)
    volumes, names, mounts = storage.pod_volumes(ctx, t)
    deps = [*env_deps, *_file_deps(t, files), *ctx.after(t), *_claim_deps(ctx, t, claims)]
    command = None
    service_account = None
    secret_name = None
    if t.reports:
        if not t.command:
            raise ValueError(f"{ctx.spec.name}/{t.name}: a reporting task needs an explicit command on Kubernetes")
        secret_name = report.report_secret_name(component)
        command = report.wrapped_command(t.command, secret_name, REPORT_PREFIX)
        service_account, rbac = access.report_access(ctx, component, secret_name)
        deps.extend(rbac)
    elif access.watch_access(ctx, t) is not None:
        raise ValueError(f"{ctx.spec.name}/{t.name}: one-shot tasks watch nothing; use a scheduled task")
    container = pods.container(t, config_map=config_map, secret=secret, volume_names=names,
                               extra_mounts=mounts, command=command)
    job_spec = {
        "backoff_limit": 2,
        "active_deadline_seconds": ctx.settings.task_timeout_seconds,
        # No ttlSecondsAfterFinished: the finished Job must stay, or Pulumi would recreate it.
        "template": {
            "metadata": {"labels": ctx.template_labels(component)},
            "spec": {**pods.pod_spec(t, [container], volumes=volumes, restart_policy="Never",
                                     service_account=service_account), **storage.colocation(ctx, t)},
        },
    }
    # The whole Job (immutable once created) plus the env values it reads: any change is a new run.
    fingerprint = pulumi.Output.all(checksum).apply(lambda c: task_fingerprint(t, {"job": job_spec, "values": c}))
    timeout = f"{ctx.settings.task_timeout_seconds + 120}s"
    job = k8s.batch.v1.Job(
        f"{ctx.name}-{component}-job",
        metadata={**ctx.meta("", component, annotations={"pulumi.com/replaceUnready": "true"}),
                  "name": fingerprint.apply(lambda f: job_name(t, f))},
        spec=job_spec,
        opts=ctx.opts(*deps, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
    )
    ctx.ready[t.name] = job
    return (job, secret_name) if t.reports else None


def scheduled(ctx: Context, t: ScheduledTask, claims, files) -> None:
    """A CronJob on the task's schedule (UTC); Kubernetes records each run, so `health` is unused."""
    component = ctx.component(t)
    config_map, secret, env_deps, _ = storage.env(ctx, t)
    volumes, names, mounts = storage.pod_volumes(ctx, t)
    deps = [*env_deps, *_file_deps(t, files), *ctx.after(t), *_claim_deps(ctx, t, claims)]
    container = pods.container(t, config_map=config_map, secret=secret, volume_names=names, extra_mounts=mounts)
    service_account = None
    granted = access.watch_access(ctx, t)
    if granted:
        service_account, rbac = granted
        deps.extend(rbac)
    ctx.ready[t.name] = k8s.batch.v1.CronJob(
        f"{ctx.name}-{component}-cronjob",
        metadata=ctx.meta(component, component),
        spec={
            "schedule": t.schedule.cron,
            "time_zone": "Etc/UTC",
            "concurrency_policy": "Forbid",
            "starting_deadline_seconds": 3600,
            "successful_jobs_history_limit": 3,
            "failed_jobs_history_limit": 3,
            "job_template": {
                "metadata": {"labels": ctx.template_labels(component)},
                "spec": {
                    "backoff_limit": 1,
                    "active_deadline_seconds": ctx.settings.task_timeout_seconds,
                    "template": {
                        "metadata": {"labels": ctx.template_labels(component)},
                        "spec": {**pods.pod_spec(t, [container], volumes=volumes, restart_policy="Never",
                                                 service_account=service_account), **storage.colocation(ctx, t)},
                    },
                },
            },
        },
        opts=ctx.opts(*deps),
    )
