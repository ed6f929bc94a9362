"""Names, labels and hashes shared by every object the platform declares.

Selectors use name + instance + component only, so a version label can change without
orphaning pods; object names come from the app's own names so that `postgres:5432` resolves.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping, Optional

from components.spec import AppSpec, Workload

from components.validation import label_problem

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns_label(value: str, what: str) -> str:
    """The app's name as a Kubernetes name (underscores become dashes); refused when impossible."""
    name = value.lower().replace("_", "-")
    if label_problem(name):
        raise ValueError(f"{what} {value!r} cannot be a Kubernetes name (lower-case letters, digits, dashes)")
    return name


def selector(spec: AppSpec, instance: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def labels(spec: AppSpec, instance: str, component: str) -> dict[str, str]:
    result = {**selector(spec, instance, component), "app.kubernetes.io/managed-by": "pulumi"}
    if len(spec.version) <= 63 and _LABEL_VALUE.match(spec.version):
        result["app.kubernetes.io/version"] = spec.version
    return result


def short_hash(value: Any, length: int = 8) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:length]


def task_fingerprint(task: Workload, extra: Optional[Mapping[str, Any]] = None) -> str:
    """What makes a task a new run: image, command, environment (secret names, not values).

    A Job's pod template is immutable, so anything that changes it must change the name too.
    """
    return short_hash({
        "image": task.image,
        "command": task.command,
        "env": dict(task.env),
        "secret_env": sorted(task.secret_env),
        "resources": task.resources,
        "mounts": task.mounts,
        "user": [task.run_as_user, task.run_as_group],
        **(extra or {}),
    })


def job_name(task: Workload, fingerprint: str) -> str:
    base = dns_label(task.name, "task")[: 63 - len(fingerprint) - 1].rstrip("-")
    return f"{base}-{fingerprint}"
