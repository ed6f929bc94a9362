"""What a pod may do through the API server: nothing, unless the description says so.

A reporting task may patch the one Secret its report lands in; a workload that watches the app's
own workloads (a watchdog asking whether the worker is ready or the last backup ran) may read
exactly those, and patch the one ConfigMap it keeps its state in; the Jobs of a stop step may
read and scale exactly the workloads they stop, and list pods to see them go. Each gets its own
service account; every other pod runs without a token.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import report
from components.platforms.kubernetes.context import Context
from components.spec import ScheduledTask, Service, Workload


def _account(ctx: Context, component: str, name: str, rules: list[dict], extra: list) -> list[pulumi.Resource]:
    account = k8s.core.v1.ServiceAccount(
        f"{ctx.name}-{component}-{name.removeprefix(component + '-')}-account",
        metadata=ctx.meta(name, component),
        automount_service_account_token=False,
        opts=ctx.opts(),
    )
    role = k8s.rbac.v1.Role(
        f"{ctx.name}-{component}-{name.removeprefix(component + '-')}-role",
        metadata=ctx.meta(name, component),
        rules=rules,
        opts=ctx.opts(),
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{ctx.name}-{component}-{name.removeprefix(component + '-')}-binding",
        metadata=ctx.meta(name, component),
        role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        subjects=[{"kind": "ServiceAccount", "name": name, "namespace": ctx.ns}],
        opts=ctx.opts(role, account),
    )
    return [*extra, account, role, binding]


def report_access(ctx: Context, component: str, secret_name: str) -> tuple[str, list[pulumi.Resource]]:
    """The Secret the report lands in, and a service account allowed to patch only it."""
    target = k8s.core.v1.Secret(
        f"{ctx.name}-{component}-report",
        metadata=ctx.meta(secret_name, component),
        type="Opaque",
        # The task writes the data; Pulumi only owns the empty object.
        opts=ctx.opts(ignore_changes=["data", "stringData"]),
    )
    name = f"{component}-reporter"
    return name, _account(ctx, component, name, report.role_rules(secret_name), [target])


def watch_access(ctx: Context, w: Workload) -> Optional[tuple[str, list[pulumi.Resource]]]:
    """A service account reading, by name, the workloads `w` watches, and keeping its state object."""
    if not (w.watches or w.state_object):
        return None
    component = ctx.component(w)
    rules: list[dict] = []
    extra: list[pulumi.Resource] = []
    if w.state_object:
        state = ctx.component(w.state_object)
        extra.append(k8s.core.v1.ConfigMap(
            f"{ctx.name}-{component}-state",
            metadata=ctx.meta(state, component),
            # The workload writes its state; Pulumi only owns the empty object.
            opts=ctx.opts(ignore_changes=["data"]),
        ))
        rules.append({"api_groups": [""], "resources": ["configmaps"], "resource_names": [state],
                      "verbs": ["get", "patch"]})
    kinds: dict[tuple[str, str], list[str]] = {}
    for name in w.watches:
        watched = ctx.spec.workload(name)
        if isinstance(watched, Service):
            key = ("apps", "statefulsets" if watched.stateful else "deployments")
        elif isinstance(watched, ScheduledTask):
            key = ("batch", "cronjobs")
        else:
            raise ValueError(f"{ctx.spec.name}/{w.name}: can watch services and scheduled tasks, not task {name!r}")
        kinds.setdefault(key, []).append(ctx.component(watched))
    for (group, resource), names in sorted(kinds.items()):
        rules.append({"api_groups": [group], "resources": [resource], "resource_names": sorted(names), "verbs": ["get"]})
    name = f"{component}-api"
    return name, _account(ctx, component, name, rules, extra)


def scaler_access(ctx: Context, component: str, targets: list[dict]) -> tuple[str, list[pulumi.Resource]]:
    """A service account that may get and scale, by name, the `targets` (`resource`:
    deployments or statefulsets, `name`), and list pods (a list cannot be limited by name)."""
    rules: list[dict] = []
    for resource in ("deployments", "statefulsets"):
        names = sorted(t["name"] for t in targets if t["resource"] == resource)
        if names:
            rules.append({"api_groups": ["apps"], "resources": [resource], "resource_names": names, "verbs": ["get"]})
            rules.append({"api_groups": ["apps"], "resources": [f"{resource}/scale"], "resource_names": names,
                          "verbs": ["patch"]})
    rules.append({"api_groups": [""], "resources": ["pods"], "verbs": ["list"]})
    name = f"{component}-scaler"
    return name, _account(ctx, component, name, rules, [])
