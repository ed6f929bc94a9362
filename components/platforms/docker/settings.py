"""The `docker:` configuration section: which engine, and how the web port is published."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

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


def _host_problem(value: str) -> Optional[str]:
    if re.match(r"^(unix:///\S+|tcp://[^/\s]+|ssh://[^@\s/]+@[^/\s]+)$", value):
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
    section.finish()
    return DockerSettings(
        host=host,
        ssh_opts=tuple(ssh_opts),
        bind_address=bind_address,
        port=port,
        name_prefix=name_prefix,
        host_paths=host_paths,
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
    """`dsnTargets[i].envFile`: a `KEY=DSN` line in an env file on the Docker host."""

    path: str
    key: str


def parse_env_file(section: Section) -> Optional[EnvFileTarget]:
    path = section.string(
        "path",
        check=lambda v: None if v.startswith("/") and not v.endswith("/") and "\n" not in v
        and "/../" not in v + "/" else "must be an absolute path to a file on the Docker host",
    )
    key = section.string(
        "key", "SENTRY_DSN", check=lambda v: None if ENV_KEY.match(v) else "must be an environment variable name"
    )
    section.finish()
    return EnvFileTarget(path=path, key=key) if path and key else None
