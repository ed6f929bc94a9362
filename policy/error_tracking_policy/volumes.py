"""Data volumes are protected in stacks that ask for it (`requireProtect`, true for production).

The engine shows a policy `protect`, not `retain_on_delete`: protect is what makes `pulumi destroy`
and a replacing change stop before the data goes. StatefulSet claims are not Pulumi resources and
are not judged here.
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy

from .workloads import DOCKER_VOLUME, PVC


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type not in (DOCKER_VOLUME, PVC):
        return
    if args.get_config().get("requireProtect", False) and not args.opts.protect:
        report_violation(
            f"data volume {args.name} is not protected: set `pulumi config set error-tracking:protect true` "
            "on this stack (its policy config asks for requireProtect)")


POLICY = ResourceValidationPolicy(
    name="data-volumes-protected",
    description="Docker volumes and PersistentVolumeClaims carry `protect` where the stack's policy config sets requireProtect.",
    validate=_validate,
    config_schema=PolicyConfigSchema(properties={
        "requireProtect": {"type": "boolean", "default": False},
    }),
)
