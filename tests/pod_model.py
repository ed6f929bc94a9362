"""What a node would do with a declared pod, modelled from the Kubernetes documentation; the tests
compare the program's objects against it instead of against the program's own rules.

- Who reads a mounted file: the kubelet writes Secret and ConfigMap files owned by root, with the
  volume's `items[].mode`, else its `defaultMode` (0644 if unset), and - where the pod has an
  `fsGroup` - group-owned by it (kubernetes.io/docs/tasks/configure-pod-container/security-context:
  "the owning GID will be the FSGroup", for volume types that support ownership management, Secret
  and ConfigMap among them). A container runs as `runAsUser`/`runAsGroup` (container over pod) with
  the fsGroup and `supplementalGroups` added; a container without `runAsUser` runs as its image's
  user, and an image that starts as root and drops to its own user (gosu, `clickhouse su`) reads
  as that user with that user's groups only: the fsGroup does not survive the drop.
- Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards, v1.30):
  the baseline and restricted controls a pod spec alone decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

DEFAULT_FILE_MODE = 0o644

# Baseline: capabilities a container may add (the standard's allowed list).
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
# Restricted: the only volume types allowed.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
SECCOMP_ALLOWED = {"RuntimeDefault", "Localhost"}
LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Reader:
    uid: int
    groups: frozenset[int]


def _context(container: Mapping, pod: Mapping, key: str):
    value = (container.get("securityContext") or {}).get(key)
    return value if value is not None else (pod.get("securityContext") or {}).get(key)


def reader(pod: Mapping, container: Mapping, drops_to: Optional[tuple[int, int]] = None,
           image_user: Optional[tuple[int, int]] = None) -> Reader:
    """The identity that opens the container's files. `drops_to`: the user a root-started image's
    entrypoint switches to; `image_user`: the image's own USER when the pod names none."""
    pod_context = pod.get("securityContext") or {}
    uid = _context(container, pod, "runAsUser")
    gid = _context(container, pod, "runAsGroup")
    if uid is None:
        uid, gid = image_user or (0, 0)
    if uid == 0 and drops_to is not None:
        return Reader(drops_to[0], frozenset({drops_to[1]}))
    groups = {gid if gid is not None else 0, *pod_context.get("supplementalGroups", ())}
    if pod_context.get("fsGroup") is not None:
        groups.add(pod_context["fsGroup"])
    return Reader(uid, frozenset(groups))


def mounted_file(pod: Mapping, volume_name: str, key: str) -> tuple[int, int, int]:
    """(owner uid, owner gid, mode) of one key of a Secret or ConfigMap volume."""
    (volume,) = [v for v in pod.get("volumes", []) if v["name"] == volume_name]
    source = volume.get("secret") or volume.get("configMap")
    assert source is not None, f"{volume_name} is not a Secret or ConfigMap volume"
    mode = source.get("defaultMode", DEFAULT_FILE_MODE)
    for item in source.get("items", ()):
        if item["key"] == key and "mode" in item:
            mode = item["mode"]
    group = (pod.get("securityContext") or {}).get("fsGroup", 0)
    return 0, group, mode


def can_read(who: Reader, owner: int, group: int, mode: int) -> bool:
    if who.uid == 0:
        return True  # root reads whatever the mode (DAC_READ_SEARCH is in the default set)
    if who.uid == owner:
        return bool(mode & 0o400)
    if group in who.groups:
        return bool(mode & 0o040)
    return bool(mode & 0o004)


def unreadable_files(pod: Mapping, readers: Mapping[str, Reader]) -> list[str]:
    """Every file mount (subPath of a Secret/ConfigMap key) its container's reader cannot open."""
    problems = []
    for container in pod["containers"]:
        who = readers[container["name"]]
        for mount in container.get("volumeMounts", ()):
            # (claims from a StatefulSet's volumeClaimTemplates are not pod volumes)
            volume = next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), {})
            if not ("secret" in volume or "configMap" in volume) or "subPath" not in mount:
                continue
            owner, group, mode = mounted_file(pod, mount["name"], mount["subPath"])
            if not can_read(who, owner, group, mode):
                problems.append(f"{container['name']}: {mount['mountPath']} ({owner}:{group} {mode:o}) "
                                f"is unreadable for uid {who.uid} groups {sorted(who.groups)}")
    return problems


# --- Pod Security Standards --------------------------------------------------------------------

def _containers(pod: Mapping) -> Iterable[Mapping]:
    return [*pod.get("initContainers", ()), *pod["containers"], *pod.get("ephemeralContainers", ())]


def baseline_violations(pod: Mapping) -> list[str]:
    found = []
    context = pod.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"host namespaces: {field}")
    if any("hostPath" in v for v in pod.get("volumes", ())):
        found.append("hostPath volumes")
    if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
        found.append("seccomp Unconfined (pod)")
    for c in _containers(pod):
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"{c['name']}: privileged")
        added = set((sc.get("capabilities") or {}).get("add", ()))
        if added - BASELINE_CAPABILITIES:
            found.append(f"{c['name']}: capabilities {sorted(added - BASELINE_CAPABILITIES)}")
        if any(p.get("hostPort") for p in c.get("ports", ())):
            found.append(f"{c['name']}: hostPort")
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{c['name']}: seccomp Unconfined")
        if sc.get("procMount") not in (None, "Default"):
            found.append(f"{c['name']}: procMount")
    return found


def restricted_violations(pod: Mapping) -> list[str]:
    found = baseline_violations(pod)
    context = pod.get("securityContext") or {}
    for v in pod.get("volumes", ()):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {v['name']}: {sorted(kinds)}")
    if context.get("runAsUser") == 0:
        found.append("runAsUser 0 (pod)")
    for c in _containers(pod):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{c['name']}: allowPrivilegeEscalation not false")
        non_root = sc.get("runAsNonRoot", context.get("runAsNonRoot"))
        if non_root is not True:
            found.append(f"{c['name']}: runAsNonRoot not true")
        if sc.get("runAsUser") == 0:
            found.append(f"{c['name']}: runAsUser 0")
        seccomp = (sc.get("seccompProfile") or context.get("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_ALLOWED:
            found.append(f"{c['name']}: seccomp {seccomp}")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", ()):
            found.append(f"{c['name']}: capabilities not dropping ALL")
        if set(capabilities.get("add", ())) - {"NET_BIND_SERVICE"}:
            found.append(f"{c['name']}: adds {sorted(set(capabilities['add']) - {'NET_BIND_SERVICE'})}")
    return found


def strictest_level(pods: Iterable[Mapping]) -> str:
    """The strictest Pod Security level every pod meets."""
    pods = list(pods)
    if all(not restricted_violations(p) for p in pods):
        return "restricted"
    if all(not baseline_violations(p) for p in pods):
        return "baseline"
    return "privileged"
