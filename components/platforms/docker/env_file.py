"""Delivering a DSN into an application's env file (`SENTRY_DSN=...`), on the Docker host or another.

On the Docker host the edit runs in a throw-away container with the file's directory mounted, so
it works the same over a local socket, tcp or ssh, with no second set of host credentials. On
another host (`envFile.host: ssh://user@host`) the same script runs there over SSH with
pulumi-command, the DSN on stdin. Either way it keeps a timestamped copy of the previous file
next to it (`.env.bak.<UTC time>`): rolling back is copying that file back and restarting the
application, well within five minutes.
"""

from __future__ import annotations

import posixpath

import pulumi
import pulumi_docker as docker

from components.platforms.docker import commands, containers
from components.platforms.docker.settings import EnvFileTarget

# A small pinned image with a POSIX shell and awk.
IMAGE = "alpine:3.22"

# Replaces the key's line in place (or appends it), keeping every other line, the file's owner
# and mode. Nothing is written, and no backup made, when the file already holds this DSN. The DSN
# comes from $DSN (the container's secret environment) or else from stdin (over SSH).
SCRIPT = r"""set -eu
if [ -z "${DSN:-}" ]; then IFS= read -r DSN || true; fi
[ -n "$DSN" ] || { echo "no DSN given (stdin or DSN)" >&2; exit 2; }
file="${TARGET_DIR:-/target}/$TARGET_FILE"
line="$TARGET_KEY=$DSN"
if [ -f "$file" ] && grep -qxF -- "$line" "$file"; then
  echo "$TARGET_KEY in $TARGET_PATH already up to date"
  exit 0
fi
if [ ! -f "$file" ]; then
  (umask 077 && printf '%s\n' "$line" > "$file")
  echo "created $TARGET_PATH with $TARGET_KEY"
  exit 0
fi
backup="$file.bak.$(date -u +%Y%m%dT%H%M%SZ)"
cp -p "$file" "$backup"
new="$file.error-tracking.new"
awk -v key="$TARGET_KEY" -v line="$line" '
  index($0, key "=") == 1 || index($0, "export " key "=") == 1 { if (!done) print line; done = 1; next }
  { print }
  END { if (!done) print line }
' "$file" > "$new"
cat "$new" > "$file"
rm -f "$new"
echo "set $TARGET_KEY in $TARGET_PATH; previous file kept as $TARGET_PATH.bak.${backup##*.bak.}"
"""


def update_container(
    resource_name: str,
    target: EnvFileTarget,
    dsn: pulumi.Output[str],
    *,
    image: str,
    name: str,
    opts: pulumi.ResourceOptions,
    secret: bool = False,
) -> docker.Container:
    """A one-shot container that sets `target.key` to the DSN; it runs again when the DSN changes.
    `secret`: the target was set as a secret, so the mounted directory stays secret too."""
    directory, filename = posixpath.split(target.path)
    envs = pulumi.Output.secret(dsn).apply(lambda value: [
        f"TARGET_FILE={filename}",
        f"TARGET_PATH={target.path}",
        f"TARGET_KEY={target.key}",
        f"DSN={value}",
    ])
    return docker.Container(
        resource_name,
        name=name,
        image=image,
        command=["sh", "-c", SCRIPT],
        envs=envs,
        volumes=[docker.ContainerVolumeArgs(
            host_path=pulumi.Output.secret(directory or "/") if secret else directory or "/", container_path="/target")],
        **containers.one_shot(),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["envs"])),
    )


def remote_update(
    resource_name: str,
    target: EnvFileTarget,
    dsn: pulumi.Output[str],
    *,
    opts: pulumi.ResourceOptions,
    secret: bool = False,
):
    """SCRIPT on `target.host` over SSH; it runs again when the DSN (stdin) or the target changes.
    `secret`: the target was set as a secret, so the host and the command naming the file stay secret."""
    from pulumi_command import remote

    directory, filename = posixpath.split(target.path)
    env = {"TARGET_DIR": directory or "/", "TARGET_FILE": filename, "TARGET_PATH": target.path, "TARGET_KEY": target.key}
    command = commands.shell_command(SCRIPT, env, "error-tracking-env-file")
    return remote.Command(
        resource_name,
        connection=commands.connection(target.host, target.host_key, secret),
        create=pulumi.Output.secret(command) if secret else command,
        stdin=pulumi.Output.secret(dsn),
        # The script prints only the path and the key name; its output is secret in state anyway.
        logging=remote.Logging.STDERR,
        add_previous_output_in_env=False,
        opts=commands.secret_output_options(opts),
    )
