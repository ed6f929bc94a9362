"""Running a script with pulumi-command, on this machine or on a host over SSH, without leaking.

How pulumi-command's SSH client authenticates (pulumi/pulumi-command@v1.2.1,
provider/pkg/provider/remote/connection.go): with `private_key` or `password` when given, and
with the ssh agent at `agent_socket_path`, by default $SSH_AUTH_SOCK. It does NOT read
~/.ssh/config, ~/.ssh/id_* or known_hosts (unlike the Docker provider, which runs the system
ssh): load the key into an agent (`ssh-add`). Without `host_key` it accepts any host key, so
`sshHostKey` / `hostKey` settings pin it. Environment variables reach a remote command only
where sshd's AcceptEnv allows them, so settings go on the command line through `env` (never a
secret) and the secret goes on stdin; error messages then show the command and its output, and
neither holds the secret.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

import pulumi

# `ssh-keyscan -t ed25519 <host>` prints `<host> ssh-ed25519 AAAA...`: the part after the host.
HOST_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}$"
)
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_HOST = re.compile(r"^[A-Za-z0-9.:-]+$")
SSH_URL_FORM = "must be ssh://user@host[:port] (no password, no path)"


@dataclass(frozen=True)
class SshHost:
    user: str
    host: str
    port: int = 22

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user}@{host}" + (f":{self.port}" if self.port != 22 else "")


def parse_ssh_url(value: str) -> Optional[SshHost]:
    """`ssh://user@host[:port]` as the Docker CLI writes it; None when it is not one."""
    try:
        parts = urlsplit(value)
        port = parts.port or 22
    except ValueError:
        return None
    if parts.scheme != "ssh" or parts.password is not None or parts.path or parts.query or parts.fragment:
        return None
    if not parts.username or not _USER.match(parts.username) or not parts.hostname or not _HOST.match(parts.hostname):
        return None
    return SshHost(user=parts.username, host=parts.hostname, port=port)


def ssh_url_problem(value: str) -> Optional[str]:
    return None if parse_ssh_url(value) else SSH_URL_FORM


def host_key_problem(value: str) -> Optional[str]:
    if HOST_KEY.match(value):
        return None
    return ("must be the host's public key as `<type> <base64>`, e.g. the last two fields of "
            "`ssh-keyscan -t ed25519 <host>`")


def connection(where: SshHost, host_key: Optional[str], secret: bool = False):
    """Connection arguments for command.remote: the ssh agent authenticates (see the docstring).
    `secret`: the host was set as a secret, so its name and user stay secret in state."""
    from pulumi_command import remote

    hidden = pulumi.Output.secret if secret else (lambda value: value)
    return remote.ConnectionArgs(host=hidden(where.host), user=hidden(where.user), port=where.port,
                                 host_key=host_key)


def shown(where: SshHost, secret: bool) -> str:
    """The host as messages name it: never a value set as a secret."""
    return "the ssh:// host (set as a secret)" if secret else str(where)


def warn_unpinned(where: SshHost, setting: str, resource: pulumi.Resource, secret: bool = False) -> None:
    pulumi.log.warn(
        f"{shown(where, secret)}: the SSH connection of pulumi-command does not verify the host's key; set "
        f"{setting} to its public key (`ssh-keyscan -t ed25519 <host>`, the last two fields) to pin it",
        resource=resource,
    )


def shell_command(script: str, env: Mapping[str, str], name: str) -> str:
    """One command line for any POSIX login shell: `env K=V... sh -c '<script>' <name>`.

    Only non-secret values belong in `env`: the line is shown in logs and error messages.
    """
    assignments = [shlex.quote(f"{key}={value}") for key, value in env.items()]
    return " ".join(["env", *assignments, "sh", "-c", shlex.quote(script), shlex.quote(name)])


def secret_output_options(opts: pulumi.ResourceOptions, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
    """What every command here declares: its output is secret in state (the engine applies this)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        additional_secret_outputs=["stdout", "stderr"],
        depends_on=list(depends_on) or None,
    ))
