"""Pod Security Admission for the app's namespace: enforce the strictest level every pod meets,
audit and warn at `restricted`, so what still falls short shows up on every apply.

The level follows from the description alone: every pod this platform builds (pods.py) drops
every capability, forbids privilege escalation, uses the RuntimeDefault seccomp profile and only
claims, emptyDirs, Secrets and ConfigMaps as volumes. What is left to decide is whether a workload
starts as root and which capabilities it adds back. The levels and their rules are the Pod
Security Standards' (kubernetes.io/docs/concepts/security/pod-security-standards).
"""

from __future__ import annotations

from typing import Iterable

from components.spec import Workload

LABEL = "pod-security.kubernetes.io"
# The oldest Kubernetes the program supports: the enforced rules are that release's, so a cluster
# upgrade cannot start refusing pods; audit and warn follow the cluster's newest rules.
ENFORCE_VERSION = "v1.30"
# Capabilities the baseline level allows a container to add.
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def level(workloads: Iterable[Workload]) -> str:
    """`restricted` when no workload starts as root or adds more than NET_BIND_SERVICE, else
    `baseline`; a workload beyond baseline is a mistake in the description."""
    strictest = "restricted"
    for w in workloads:
        added = set(w.capabilities)
        if added - BASELINE_CAPABILITIES:
            raise ValueError(f"{w.name}: capabilities {sorted(added - BASELINE_CAPABILITIES)} are beyond the "
                             "baseline Pod Security level; no workload of this program may need them")
        if w.root or added - RESTRICTED_CAPABILITIES:
            strictest = "baseline"
    return strictest


def namespace_labels(workloads: Iterable[Workload]) -> dict[str, str]:
    return {
        f"{LABEL}/enforce": level(workloads),
        f"{LABEL}/enforce-version": ENFORCE_VERSION,
        f"{LABEL}/audit": "restricted",
        f"{LABEL}/audit-version": "latest",
        f"{LABEL}/warn": "restricted",
        f"{LABEL}/warn-version": "latest",
    }
