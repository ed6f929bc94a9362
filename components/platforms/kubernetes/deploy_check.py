"""The post-deploy check on Kubernetes: a Job of its own inside the cluster.

The Job runs components.deploy_check.SCRIPT in a small pinned curl image against the entrypoint's
Service (http://<service>.<namespace>.svc:<port>), so it proves the workload and ingest, not the
Ingress or DNS outside. The check project's DSN reaches it from a Secret (never a ConfigMap, never
the command line). Like every pod in the closed namespace it gets its own NetworkPolicy (DNS and
the entrypoint's port, nothing else) and one more policy lets the entrypoint admit it; policies
add up, so the platform's own policies stay as they are.

A Job's pod template is immutable and a finished Job is kept (Pulumi would recreate a deleted
one), so the Job is named after a hash of what it checks: the program's triggers (app, version,
URL), the DSN, the image, the address and the timeout. The same inputs keep the same Job and
nothing runs again; a change makes a new Job, which pulumi-kubernetes awaits to completion, so
a failed check fails `pulumi up`. With `renderYamlTo` nothing is applied and there is no DSN to
check with: the check is skipped with a warning.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components import deploy_check
from components.platforms.kubernetes import network, pods
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import short_hash
from components.spec import Resources, Task

COMPONENT = "post-deploy-check"
DSN_KEY = "CHECK_DSN"


def workload() -> Task:
    """The check as a spec workload, so that it gets the same hardened pod as every other."""
    return Task(
        name=COMPONENT,
        image=deploy_check.IMAGE,
        # curl and a shell waiting on one request at a time: a twentieth of a core reserved.
        resources=Resources(memory_mb=32, cpu=0.1, cpu_request=0.05),
        run_as_user=deploy_check.RUN_AS,
        run_as_group=deploy_check.RUN_AS,
        read_only_root=True,
        stop_grace_seconds=5,
    )


def declare(ctx: Context, dsn: pulumi.Output[str], triggers: Sequence[pulumi.Input],
            timeout_seconds: int) -> Optional[pulumi.Output[str]]:
    if ctx.rendering:
        pulumi.log.warn("kubernetes.renderYamlTo is set: the post-deploy check does not run (nothing is applied "
                        "and the check project's DSN is not known)", resource=ctx.parent)
        return None
    entry = ctx.spec.entrypoint
    target = ctx.component(entry.service)
    base = f"http://{target}.{ctx.ns}.svc:{entry.port}"
    env = deploy_check.environment(base, entry.health_path, timeout_seconds)
    secret = k8s.core.v1.Secret(
        f"{ctx.name}-{COMPONENT}-dsn",
        metadata=ctx.meta(COMPONENT, COMPONENT),
        type="Opaque",
        string_data={DSN_KEY: pulumi.Output.secret(dsn)},
        opts=ctx.opts(),
    )
    task = workload()
    container = pods.container(task, config_map=None, secret=COMPONENT, volume_names={},
                               command=["sh", "-c", deploy_check.SCRIPT])
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    job_spec = {
        # The script retries until its own timeout; a second pod would only repeat the verdict.
        "backoff_limit": 0,
        "active_deadline_seconds": timeout_seconds + 60,
        "template": {
            "metadata": {"labels": ctx.labels(COMPONENT)},
            "spec": pods.pod_spec(task, [container], volumes=[], restart_policy="Never"),
        },
    }
    # A digest of a random 128-bit key says nothing about it: the name may stay readable.
    fingerprint = pulumi.Output.unsecret(pulumi.Output.all(dsn, *triggers).apply(
        lambda values: short_hash({"checked": [str(v) for v in values], "job": job_spec})))
    timeout = f"{timeout_seconds + 180}s"
    job = k8s.batch.v1.Job(
        f"{ctx.name}-{COMPONENT}-job",
        metadata={**ctx.meta("", COMPONENT, annotations={"pulumi.com/replaceUnready": "true"}),
                  "name": fingerprint.apply(lambda f: f"{COMPONENT}-{f}")},
        spec=job_spec,
        opts=ctx.opts(ctx.ready[entry.service], secret, *_policies(ctx, target, entry.port),
                      custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)),
    )
    return job.metadata.apply(lambda _: deploy_check.reached_at(base, entry.health_path))


def _policies(ctx: Context, target: str, port: int) -> list[pulumi.Resource]:
    """The check may resolve names and reach the entrypoint's port; the entrypoint admits it."""
    tcp = [{"protocol": "TCP", "port": port}]
    own = network.component_policy(ctx, COMPONENT, [], [
        *network.dns_rules(ctx.settings),
        {"to": [{"pod_selector": {"match_labels": ctx.selector(target)}}], "ports": tcp},
    ])
    admitted: dict[str, Any] = {
        "pod_selector": {"match_labels": ctx.selector(target)},
        "policy_types": ["Ingress"],
        "ingress": [{"from_": [{"pod_selector": {"match_labels": ctx.selector(COMPONENT)}}], "ports": tcp}],
    }
    entry = k8s.networking.v1.NetworkPolicy(
        f"{ctx.name}-{COMPONENT}-admitted",
        metadata=ctx.meta(f"{target}-admits-{COMPONENT}", COMPONENT),
        spec=admitted,
        opts=ctx.opts(),
    )
    return [own, entry]
