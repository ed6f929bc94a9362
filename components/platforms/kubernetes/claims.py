"""The claims of StatefulSets' volumeClaimTemplates: never replaced, and resized only by hand.

A StatefulSet's volumeClaimTemplates cannot change: pulumi-kubernetes would replace the StatefulSet
(its store stops) while the claim it made keeps its old size and class. So the template is left as
it was created (`ignore_changes`), and a size or class change is checked at preview against what
the claim has: the sizes this stack recorded in its last deployment's `deployed` output (read back
through a StackReference to itself, as Sentry's upgrade gate reads its version), and, where the
operator expanded a claim by hand since, the claim itself (read from the cluster, only then: it is
known to exist). A claim smaller than asked is refused with the commands that expand it; a claim
cannot shrink nor change class, and saying so is refused too. The cluster expands a claim only if
its StorageClass has `allowVolumeExpansion: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.platforms.kubernetes import storage
from components.platforms.kubernetes.context import Context
from components.platforms.kubernetes.naming import dns_label

RECORD_KEY = "kubernetesClaims"
PREFIX = "error-tracking:kubernetes"


@dataclass(frozen=True)
class TemplatedClaim:
    volume: str  # the app's volume
    statefulset: str
    claim: str  # <template>-<statefulset>-0, as the StatefulSet controller names it
    size_gi: int
    storage_class: Optional[str]


def templated(ctx: Context) -> list[TemplatedClaim]:
    found = []
    for v in ctx.spec.volumes:
        owner = storage.owner(ctx, v)
        if owner is None:
            continue
        template, statefulset = dns_label(v.name, "volume"), ctx.component(owner)
        spec = storage.claim_spec(ctx, v)
        found.append(TemplatedClaim(v.name, statefulset, f"{template}-{statefulset}-0",
                                    int(storage.size(ctx, v)[:-2]), spec.get("storage_class_name")))
    return found


def record(claims: list[TemplatedClaim]) -> dict[str, dict[str, Any]]:
    return {c.claim: {"sizeGi": c.size_gi, "storageClass": c.storage_class} for c in claims}


def _setting(ctx: Context, c: TemplatedClaim) -> str:
    key = dns_label(c.volume, "volume")
    if key in ctx.settings.volume_sizes:
        return f"{PREFIX}.volumeSizes.{key}"
    return f"{ctx.spec.name}'s size for volume {c.volume} (derived from its settings; {PREFIX}.volumeSizes.{key} overrides it)"


def _expand(ctx: Context, c: TemplatedClaim, held: int) -> str:
    patch = '{"spec":{"resources":{"requests":{"storage":"%dGi"}}}}' % c.size_gi
    cls = c.storage_class or "$(kubectl get pvc -n %s %s -o jsonpath='{.spec.storageClassName}')" % (ctx.ns, c.claim)
    return (
        f"{_setting(ctx, c)}: {c.size_gi} GiB, but claim {ctx.ns}/{c.claim} of StatefulSet {c.statefulset} holds "
        f"{held}Gi, and a StatefulSet's volumeClaimTemplates cannot change (Kubernetes would replace the "
        f"StatefulSet and the claim would keep {held}Gi). Expand the claim first, if its StorageClass allows it "
        f"(kubectl get storageclass {cls} -o jsonpath='{{.allowVolumeExpansion}}' prints true): "
        f"kubectl -n {ctx.ns} patch pvc {c.claim} -p '{patch}'; wait until "
        f"kubectl -n {ctx.ns} get pvc {c.claim} shows {c.size_gi}Gi, then run pulumi up again. "
        f"If the class cannot expand, set the size back to {held}."
    )


def _static_problems(ctx: Context, claims: list[TemplatedClaim], previous: Mapping[str, Any]) -> tuple[list, list]:
    """(refusals, claims grown since the record: to be read from the cluster)."""
    problems, grown = [], []
    for c in claims:
        held = previous.get(c.claim)
        if not isinstance(held, Mapping):
            continue  # a claim the last deployment did not have: the StatefulSet creates it as asked
        size, cls = int(held.get("sizeGi", 0)), held.get("storageClass")
        if c.size_gi < size:
            problems.append(f"{_setting(ctx, c)}: {c.size_gi} GiB, but claim {ctx.ns}/{c.claim} already holds "
                            f"{size}Gi and a claim cannot shrink; set it to {size} or more")
        elif c.size_gi > size:
            grown.append((c, size))
        if cls != c.storage_class:
            problems.append(f"{PREFIX}.storageClass: claim {ctx.ns}/{c.claim} was made with class {cls or 'the default'} "
                            f"and keeps it (a claim's class cannot change); to move its data, back it up, delete "
                            "the StatefulSet and the claim, and restore")
    return problems, grown


def _size_gi(quantity: Optional[str]) -> int:
    if not quantity:
        return 0
    units = {"Gi": 1, "Ti": 1024, "Mi": 1 / 1024, "G": 1e9 / 2**30, "T": 1e12 / 2**30}
    for suffix, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(int(quantity) / 2**30)


def checked(ctx: Context, previous: pulumi.Output) -> pulumi.Output[dict]:
    """The claims' record, once the last deployment's sizes and any grown claim agree with it;
    fails the preview (and `up`) otherwise."""
    claims = templated(ctx)
    current = record(claims)

    def check(deployed) -> Any:
        previous_claims = (deployed or {}).get(RECORD_KEY) if isinstance(deployed, Mapping) else None
        if deployed and previous_claims is None and claims:
            pulumi.log.warn("this stack's last deployment recorded no claim sizes (an earlier version of this "
                            "program): they are recorded from now on; a volume size changed in this same update "
                            "does not reach an existing claim (kubectl get pvc -n " + ctx.ns + ")", resource=ctx.parent)
        problems, grown = _static_problems(ctx, claims, previous_claims or {})
        if problems:
            raise pulumi.RunError("; ".join(problems))
        if not grown:
            return current
        if ctx.rendering:
            raise pulumi.RunError(" ".join(_expand(ctx, c, held) for c, held in grown))
        # Expanded by hand since? Only now is the claim read: it exists, the last deployment had it.
        reads = [k8s.core.v1.PersistentVolumeClaim.get(
            f"{ctx.name}-claim-{c.claim}-read", f"{ctx.ns}/{c.claim}",
            opts=pulumi.ResourceOptions(parent=ctx.parent, provider=ctx.provider)) for c, _ in grown]

        def verify(specs) -> dict:
            short = []
            for (c, held), spec in zip(grown, specs):
                has = _size_gi(((spec or {}).get("resources") or {}).get("requests", {}).get("storage"))
                if has < c.size_gi:
                    short.append(_expand(ctx, c, max(has, held)))
            if short:
                raise pulumi.RunError(" ".join(short))
            return current

        return pulumi.Output.all(*[r.spec for r in reads]).apply(verify)

    return previous.apply(check)


def last_deployment(ctx: Context) -> pulumi.Output:
    """This stack's own last `deployed` output (None on a first deployment), known at preview."""
    organization = pulumi.get_organization() or "organization"
    own = pulumi.StackReference(
        f"{ctx.name}-last-deployment",
        stack_name=f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}",
        opts=pulumi.ResourceOptions(parent=ctx.parent),
    )
    return own.get_output("deployed")
