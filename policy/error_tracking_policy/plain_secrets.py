"""No secret-looking value in a ConfigMap or in a Kubernetes container's plain `env` value.

Policies see secret inputs already unwrapped, so secret-ness cannot be read from the value: a
key is judged by how its name ends (..._PASSWORD, ..._SECRET, ..._TOKEN, ..._KEY) and a value by its shape (a URL with
a password in it). Secrets belong in a Secret, used through `envFrom.secretRef`,
`valueFrom.secretKeyRef` or a mounted file. On Docker a container's environment is the only way
in; the program keeps it secret in the state, which a policy cannot see, so Docker is not judged.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy

from .workloads import CONFIG_MAP, pod_containers

# A name that ends like this names the secret itself (DATABASE_PASSWORD, AWS_SECRET_ACCESS_KEY,
# GITHUB_TOKEN); one that goes on (SECRET_KEY_FILE, API_TOKEN_LABEL, ACCESS_KEY_ID) names something
# about it. An operator's own exceptions go in the policy's allowedNames.
_SECRET_ENDINGS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS")
# scheme://user:password@host (the user may be empty: redis://:password@host).
_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.IGNORECASE)


def looks_secret(name: str, value: object, allowed: Iterable[str] = ()) -> Optional[str]:
    """Why `name=value` looks like a secret, or None."""
    if name in allowed or value in (None, ""):
        return None
    last = name.upper().replace("-", "_").replace(".", "_").rsplit("_", 1)[-1]
    if last in _SECRET_ENDINGS:
        return "its name says it is a secret"
    if isinstance(value, str) and _URL_WITH_PASSWORD.search(value):
        return "its value is a URL with a password"
    return None


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    allowed = list(args.get_config().get("allowedNames", []))
    if args.resource_type == CONFIG_MAP:
        for field in ("data", "binaryData"):
            for key, value in (args.props.get(field) or {}).items():
                why = looks_secret(key, value, allowed)
                if why:
                    report_violation(
                        f"ConfigMap {args.name} holds {key} and {why}: move it into a Secret (on Kubernetes "
                        "the program puts secrets in Secrets; set the value with `pulumi config set --secret`)")
        return
    for container in pod_containers(args.resource_type, args.props):
        for entry in container.spec.get("env") or []:
            why = looks_secret(entry.get("name", ""), entry.get("value"), allowed)
            if why:
                report_violation(
                    f"{args.name}: container {container.name} has {entry.get('name')} as a plain env value and "
                    f"{why}: read it from a Secret with valueFrom.secretKeyRef (or envFrom.secretRef) instead")


POLICY = ResourceValidationPolicy(
    name="no-secrets-in-plain-config",
    description="ConfigMaps and plain container env values hold nothing that looks like a secret.",
    validate=_validate,
    config_schema=PolicyConfigSchema(properties={
        "allowedNames": {"type": "array", "items": {"type": "string"}, "default": []},
    }),
)
