"""The `docker:` configuration section: which engine, and how the web port is published."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from components.platforms.docker.commands import SshHost, host_key_problem, parse_ssh_url, ssh_url_problem
from components.validation import Problems, Section

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DEFAULT_HOST = "unix:///var/run/docker.sock"
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")


@dataclass(frozen=True)
class DockerSettings:
    host: str
    ssh_opts: tuple[str, ...]
    bind_address: str
    port: int
    name_prefix: Optional[str]
    # Volumes kept in a host directory instead of a named volume (e.g. backups: /var/backups/glitchtip).
    host_paths: Mapping[str, str] = field(default_factory=dict)
    # The ssh:// host's public key, pinned by commands run there over SSH (the post-deploy check).
    ssh_host_key: Optional[str] = None
    # Set with `pulumi config set --secret` somewhere below `docker`: the host, its ssh options and
    # the host paths stay secret in state.
    secret: bool = False

    @property
    def ssh(self) -> Optional[SshHost]:
        """The Docker host as an SSH destination, when `host` is ssh://."""
        return parse_ssh_url(self.host) if self.host.startswith("ssh://") else None


def _host_problem(value: str) -> Optional[str]:
    if re.match(r"^(unix:///\S+|tcp://[^/\s]+)$", value) or (value.startswith("ssh://") and not ssh_url_problem(value)):
        return None
    return "must be unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]"


def _address_problem(value: str) -> Optional[str]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IP address such as 127.0.0.1 (loopback only) or 0.0.0.0 (every interface)"
    return None


def parse_settings(section: Section, problems: Problems) -> DockerSettings:
    host = section.string("host", DEFAULT_HOST, check=_host_problem)
    ssh_opts = section.raw("sshOpts", [])
    if not isinstance(ssh_opts, list) or not all(isinstance(o, str) for o in ssh_opts):
        section.error("sshOpts", 'must be a list of ssh options such as ["-i", "~/.ssh/deploy"]')
        ssh_opts = []
    bind_address = section.string("bindAddress", "127.0.0.1", check=_address_problem)
    port = section.integer("port", 8000, minimum=1, maximum=65535)
    name_prefix = section.string(
        "namePrefix", None,
        check=lambda v: None if NAME.match(v) else "must be lower-case letters, digits, '.', '_' or '-'",
    )
    host_paths = _host_paths(section)
    ssh_host_key = section.string("sshHostKey", None, check=host_key_problem)
    if ssh_host_key and not (host or "").startswith("ssh://"):
        section.error("sshHostKey", "pins the key of an ssh:// host; docker.host is not one")
    section.finish()
    return DockerSettings(
        host=host,
        ssh_opts=tuple(ssh_opts),
        bind_address=bind_address,
        port=port,
        name_prefix=name_prefix,
        host_paths=host_paths,
        ssh_host_key=ssh_host_key,
        secret=section.secret,
    )


def _host_paths(section: Section) -> dict[str, str]:
    raw = section.raw("hostPaths", {})
    if not isinstance(raw, dict):
        section.error("hostPaths", "must be an object of volume: /absolute/host/path")
        return {}
    paths = {}
    for volume, path in raw.items():
        if not isinstance(path, str) or not path.startswith("/") or "\n" in path:
            section.error(f"hostPaths.{volume}", "must be an absolute directory path on the Docker host")
        else:
            paths[str(volume)] = path.rstrip("/") or "/"
    return paths


@dataclass(frozen=True)
class EnvFileTarget:
    """`dsnTargets[i].envFile`: a `KEY=DSN` line in an env file on the Docker host, or with
    `host: ssh://user@host[:port]` on another host, edited over SSH (`hostKey` pins its key)."""

    path: str
    key: str
    host: Optional[SshHost] = None
    host_key: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.host}{self.path}" if self.host else self.path

    @property
    def destination(self) -> tuple[str, str]:
        """What one writer owns: the file (two edits of it would race over one temporary file)."""
        return (str(self.host or ""), self.path)


def parse_env_file(section: Section) -> Optional[EnvFileTarget]:
    path = section.string(
        "path",
        check=lambda v: None if v.startswith("/") and not v.endswith("/") and "\n" not in v
        and "/../" not in v + "/" else "must be an absolute path to a file (on the Docker host, or on `host`)",
    )
    key = section.string(
        "key", "SENTRY_DSN", check=lambda v: None if ENV_KEY.match(v) else "must be an environment variable name"
    )
    raw_host = section.data.get("host")
    # A password in the URL (refused: the ssh agent authenticates) must not be echoed back.
    with_password = isinstance(raw_host, str) and ":" in raw_host.split("@", 1)[0].split("://", 1)[-1] \
        and "@" in raw_host
    host = section.string("host", None, check=ssh_url_problem, secret=with_password)
    host_key = section.string("hostKey", None, check=host_key_problem)
    if host_key and not section.has("host"):
        section.error("hostKey", "pins the key of `host`, which is not set (the file is then on the Docker host)")
    section.finish()
    if not (path and key) or (section.has("host") and not host):
        return None
    return EnvFileTarget(path=path, key=key, host=parse_ssh_url(host) if host else None, host_key=host_key)
