"""Volumes, configuration files and environment: claims, ConfigMaps, Secrets and pod volumes.

Plain values go to ConfigMaps, secret ones only ever to Secrets. A file is one object shared by
every workload that mounts it (read-only, by subPath); a checksum of a workload's values and
files rolls its pods when one changes. Claims of data volumes are kept when deleted.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import dns_label, short_hash
from components.spec import Service, Volume, Workload

FILE_KEY = "content"
IMMUTABLE_CLAIM_FIELDS = ("spec.accessModes", "spec.storageClassName")


def size(ctx: Context, v: Volume) -> str:
    return f"{ctx.settings.volume_sizes.get(dns_label(v.name, 'volume'), v.size_gb)}Gi"


def across_nodes(v: Volume) -> bool:
    """Pods on several nodes mount it at once (ReadWriteMany); a held volume's pods share one node."""
    return v.shared and not v.local and v.holder is None


def claim_spec(ctx: Context, v: Volume) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "access_modes": ["ReadWriteMany" if across_nodes(v) else "ReadWriteOnce"],
        "resources": {"requests": {"storage": size(ctx, v)}},
    }
    # Shared volumes need a class that serves ReadWriteMany; the rest stay on block storage.
    storage_class = ctx.settings.shared_storage_class if across_nodes(v) else ctx.settings.storage_class
    if storage_class:
        spec["storage_class_name"] = storage_class
    return spec


def owner(ctx: Context, v: Volume) -> Optional[Service]:
    """The stateful service whose StatefulSet claims `v` itself (volumeClaimTemplate), if any."""
    mounters = [w for w in ctx.spec.workloads() if any(m.volume == v.name for m in w.mounts)]
    stateful = [w for w in mounters if isinstance(w, Service) and w.stateful]
    if v.shared or v.local or not stateful:
        return None
    if len(mounters) > 1:
        raise ValueError(
            f"{ctx.spec.name}: volume {v.name!r} belongs to stateful service {stateful[0].name!r} "
            f"but is also mounted by {', '.join(w.name for w in mounters if w is not stateful[0])}; "
            "declare it shared=True to share it"
        )
    return stateful[0]


def claims(ctx: Context) -> dict[str, k8s.core.v1.PersistentVolumeClaim]:
    """Standalone claims: shared volumes (ReadWriteMany) and those of non-stateful workloads."""
    result = {}
    for v in ctx.spec.volumes:
        mounted = any(m.volume == v.name for w in ctx.spec.workloads() for m in w.mounts)
        if not mounted or v.local or owner(ctx, v) is not None:
            continue
        name = dns_label(v.name, "volume")
        result[v.name] = k8s.core.v1.PersistentVolumeClaim(
            f"{ctx.name}-pvc-{name}",
            # Not awaited: with WaitForFirstConsumer storage a claim binds only once a pod uses it.
            metadata=ctx.meta(name, name, annotations={"pulumi.com/skipAwait": "true"}),
            spec=claim_spec(ctx, v),
            # A bound claim's access modes and class cannot change: one made by an earlier release
            # (a ReadWriteMany backups claim, another class) keeps them instead of being replaced.
            opts=pulumi.ResourceOptions.merge(ctx.data_opts() if v.data else ctx.opts(),
                                              pulumi.ResourceOptions(ignore_changes=list(IMMUTABLE_CLAIM_FIELDS))),
        )
    return result


def colocation(ctx: Context, w: Workload) -> dict[str, Any]:
    """Pod affinity to the node of each stateful service that holds a volume `w` mounts (Volume.holder):
    a ReadWriteOnce claim serves every pod on one node, so no ReadWriteMany class is needed."""
    holders = sorted({ctx.spec.volume(m.volume).holder for m in w.mounts} - {None, w.name})
    if not holders:
        return {}
    terms = [{"label_selector": {"match_labels": ctx.selector(ctx.component(h))},
              "topology_key": "kubernetes.io/hostname"} for h in holders]
    return {"affinity": {"pod_affinity": {"required_during_scheduling_ignored_during_execution": terms}}}


def config_files(ctx: Context) -> dict[str, pulumi.Resource]:
    """One ConfigMap (plain) or Secret (secret) per configuration file that a workload mounts."""
    mounted = {f.file for w in ctx.spec.workloads() for f in w.files}
    result: dict[str, pulumi.Resource] = {}
    for file in ctx.spec.files:
        if file.name not in mounted:
            continue
        name = dns_label(file.name, "file")
        if file.secret:
            result[file.name] = k8s.core.v1.Secret(
                f"{ctx.name}-file-{name}",
                metadata=ctx.meta(name, "config"),
                type="Opaque",
                string_data={FILE_KEY: pulumi.Output.secret(file.content)},
                opts=ctx.opts(),
            )
        else:
            result[file.name] = k8s.core.v1.ConfigMap(
                f"{ctx.name}-file-{name}",
                metadata=ctx.meta(name, "config"),
                data={FILE_KEY: never_secret(file.content, f"{ctx.spec.name}: plain file {file.name!r}")},
                opts=ctx.opts(),
            )
    return result


def never_secret(value: pulumi.Input[str], what: str) -> pulumi.Input[str]:
    """`value` for a ConfigMap; a secret Output fails the deployment instead of landing there.

    A ConfigMap is readable by whoever may read the namespace's configuration; Pulumi would only
    encrypt the value in its state and hide the mistake, so a value the app marked secret by
    accident (env instead of secret_env) is refused, naming where it came from.
    """
    if isinstance(value, str):
        return value
    output = pulumi.Output.from_input(value)

    async def refuse_secret() -> None:
        if await output.is_secret():
            raise ValueError(f"{what} is secret but declared as plain configuration (a ConfigMap); "
                             "declare it secret (secret_env, ConfigFile(secret=True))")

    checked = pulumi.Output.from_input(refuse_secret())
    return pulumi.Output.all(output, checked).apply(lambda values: str(values[0]))


def pod_volumes(ctx: Context, w: Workload, templated: Sequence[str] = (),
                prefix: str = "") -> tuple[list[dict], dict[str, str], list[dict]]:
    """Pod volumes (claims, files, scratch), volume names by the app's volume, and extra mounts;
    `prefix` names the files' and scratch's volumes of a second container in the same pod."""
    volumes: list[dict] = []
    names: dict[str, str] = {}
    for m in w.mounts:
        name = dns_label(m.volume, "volume")
        names[m.volume] = name
        if m.volume in templated or any(v["name"] == name for v in volumes):
            continue
        if ctx.spec.volume(m.volume).local:
            # Each pod its own: nothing else on Kubernetes reads what one service keeps locally.
            volumes.append({"name": name, "empty_dir": {"size_limit": f"{ctx.spec.volume(m.volume).size_gb}Gi"}})
        else:
            volumes.append({"name": name, "persistent_volume_claim": {"claim_name": name}})
    mounts: list[dict] = []
    for index, f in enumerate(w.files):
        file = ctx.spec.file(f.file)
        volume = f"{prefix}file-{index}"
        source = dns_label(file.name, "file")
        items = [{"key": FILE_KEY, "path": FILE_KEY}]
        if file.secret:
            volumes.append({"name": volume, "secret": {"secret_name": source, "items": items, "default_mode": 0o440}})
        else:
            volumes.append({"name": volume, "config_map": {"name": source, "items": items, "default_mode": 0o444}})
        mounts.append({"name": volume, "mount_path": f.path, "sub_path": FILE_KEY, "read_only": True})
    for index, s in enumerate(w.scratch):
        volume = f"{prefix}scratch-{index}"
        empty_dir: dict[str, Any] = {"size_limit": f"{s.size_mb}Mi"}
        if s.memory:
            empty_dir["medium"] = "Memory"
        volumes.append({"name": volume, "empty_dir": empty_dir})
        mounts.append({"name": volume, "mount_path": s.path})
    return volumes, names, mounts


def env(ctx: Context, w: Workload) -> tuple[Optional[str], Optional[str], list[pulumi.Resource], pulumi.Output[str]]:
    """ConfigMap for plain env, Secret for secret_env; and a checksum of values and files that
    rolls pods on change (a truncated hash: enough to notice a change, useless to an attacker)."""
    component = ctx.component(w)
    name = f"{component}-env"
    deps: list[pulumi.Resource] = []
    config_map = secret = None
    if w.env:
        deps.append(k8s.core.v1.ConfigMap(
            f"{ctx.name}-{component}-config",
            metadata=ctx.meta(name, component),
            data={k: never_secret(v, f"{ctx.spec.name}/{w.name}: env {k}") for k, v in w.env.items()},
            opts=ctx.opts(),
        ))
        config_map = name
    if w.secret_env:
        deps.append(k8s.core.v1.Secret(
            f"{ctx.name}-{component}-secret",
            metadata=ctx.meta(name, component),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in w.secret_env.items()},
            opts=ctx.opts(),
        ))
        secret = name
    files = {f.path: ctx.spec.file(f.file).content for f in w.files}
    checksum = pulumi.Output.all(dict(w.env), pulumi.Output.all(**dict(w.secret_env)), pulumi.Output.all(**files)).apply(
        lambda values: short_hash(values, 16)
    )
    return config_map, secret, deps, pulumi.Output.unsecret(checksum)
