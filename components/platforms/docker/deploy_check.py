"""The post-deploy check on a Docker engine, run where the published port is reachable.

- unix:// (an engine on this machine): `command.local.Command` here, against
  http://<bindAddress, or 127.0.0.1 for a wildcard>:<port>, the address the operator published.
- ssh://user@host[:port]: `command.remote.Command` on that host over SSH, against the same
  address seen from the host (authenticated by the ssh agent; see commands.py). The host needs
  sh and curl.
- tcp://: this machine may not reach the published port (it may be bound to the host's
  loopback) and there is no SSH login, so the check runs in a one-shot container on the app
  network against the entrypoint service by name, like the env-file tool; it then proves the
  service and ingest, not the port publication.

Each runs again only when what it checks changes: its inputs (script, address, the DSN on stdin
or in the environment) and `triggers` (the app's version and URL from the program, plus the
entrypoint containers' ids, which change when a container is replaced).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Sequence

import pulumi
import pulumi_docker as docker

from components import deploy_check
from components.platforms.docker import commands, containers


def published_base_url(bind_address: str, port: int) -> str:
    """The address the entrypoint is published on, as a client on the same host reaches it."""
    address = ipaddress.ip_address(bind_address)
    if address.is_unspecified:
        address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{port}"


def declare(platform, dsn: pulumi.Output[str], triggers: Sequence[pulumi.Input],
            timeout: int) -> pulumi.Output[str]:
    """Declare the check on `platform` (a DockerPlatform); returns its status once it passed."""
    settings, spec = platform.settings, platform.spec
    entry = spec.entrypoint
    web = platform.containers[entry.service]
    triggers = [*triggers, *[c.id for c in web]]
    name = f"{platform.name}-post-deploy-check"
    if settings.host.startswith("tcp://"):
        return _in_container(platform, name, dsn, triggers, web, timeout)
    base = published_base_url(settings.bind_address, settings.port)
    env = deploy_check.environment(base, entry.health_path, timeout)
    create = commands.shell_command(deploy_check.SCRIPT, env, "error-tracking-post-deploy-check")
    opts = commands.secret_output_options(pulumi.ResourceOptions(parent=platform), *web)
    where = settings.ssh
    if where is None:
        from pulumi_command import local

        command = local.Command(
            name, create=create, stdin=pulumi.Output.secret(dsn), triggers=triggers,
            logging=local.Logging.STDERR, add_previous_output_in_env=False, opts=opts,
        )
    else:
        from pulumi_command import remote

        if not settings.ssh_host_key:
            commands.warn_unpinned(where, "docker.sshHostKey", platform, settings.secret)
        if settings.ssh_opts:
            pulumi.log.warn(
                "docker.sshOpts are the Docker CLI's: the post-deploy check connects to the user, host and port "
                f"of docker.host ({commands.shown(where, settings.secret)}) and authenticates with the ssh agent "
                "($SSH_AUTH_SOCK)", resource=platform)
        command = remote.Command(
            name, connection=commands.connection(where, settings.ssh_host_key, settings.secret), create=create,
            stdin=pulumi.Output.secret(dsn), triggers=triggers,
            logging=remote.Logging.STDERR, add_previous_output_in_env=False, opts=opts,
        )
    # The id exists once the script exited 0; the status names the address, never the DSN.
    return command.id.apply(lambda _: deploy_check.reached_at(base, entry.health_path))


def _in_container(platform, name: str, dsn, triggers, web, timeout: int) -> pulumi.Output[str]:
    entry = platform.spec.entrypoint
    base = f"http://{entry.service}:{entry.port}"
    env = deploy_check.environment(base, entry.health_path, timeout)
    image = platform.tool_image(deploy_check.IMAGE, "post-deploy-check")
    envs = pulumi.Output.all(pulumi.Output.secret(dsn), *triggers).apply(lambda values: [
        *(f"{k}={v}" for k, v in env.items()),
        f"CHECK_DSN={values[0]}",
        # Not read by the script: a new value replaces the container, so the check runs again.
        f"CHECK_TRIGGERS={_fingerprint(values[1:])}",
    ])
    container = docker.Container(
        name,
        name=f"{platform.prefix}-post-deploy-check",
        image=image,
        command=["sh", "-c", deploy_check.SCRIPT],
        envs=envs,
        user=str(deploy_check.RUN_AS),
        security_opts=["no-new-privileges:true"],
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=platform.network.name)],
        **containers.one_shot(),
        opts=pulumi.ResourceOptions.merge(platform.child_options, pulumi.ResourceOptions(
            depends_on=web, additional_secret_outputs=["envs"])),
    )
    return containers.require_success("the post-deploy check", container).apply(
        lambda _: deploy_check.reached_at(base, entry.health_path))


def _fingerprint(values: Sequence) -> str:
    return hashlib.sha256(json.dumps([str(v) for v in values]).encode()).hexdigest()[:16]
