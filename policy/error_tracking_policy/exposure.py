"""Docker: nothing is published beyond loopback unless the stack's policy config allows the address.

The Docker provider publishes on 0.0.0.0 when a port has no `ip`, and host networking publishes
every port a process opens, so both count as beyond loopback.
"""

from __future__ import annotations

import ipaddress

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy

from .workloads import DOCKER_CONTAINER

# Loopback (127.0.0.0/8, ::1) is always allowed; the config adds addresses an operator means.
DEFAULT_ALLOWED: list = []


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != DOCKER_CONTAINER:
        return
    allowed = list(args.get_config().get("allowedBindAddresses", DEFAULT_ALLOWED))
    if args.props.get("networkMode") == "host":
        report_violation(
            f"container {args.name} uses host networking, which publishes every port on every address: "
            "drop network_mode host and publish the web port through docker.bindAddress/docker.port")
    for port in args.props.get("ports") or []:
        address = port.get("ip") or "0.0.0.0"
        if address not in allowed and not _is_loopback(address):
            report_violation(
                f"container {args.name} publishes port {port.get('external') or port.get('internal')} on "
                f"{address}: set error-tracking:docker.bindAddress to {' or '.join(['127.0.0.1', *allowed])}, or add "
                f"{address} to this policy's allowedBindAddresses in the stack's policy config if you mean it")


POLICY = ResourceValidationPolicy(
    name="docker-ports-on-allowed-addresses",
    description="Docker containers publish ports only on loopback or on the bind addresses the policy config allows.",
    validate=_validate,
    config_schema=PolicyConfigSchema(properties={
        "allowedBindAddresses": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ALLOWED},
    }),
)
