"""Delivering a DSN into an application's env file on the Docker host (`SENTRY_DSN=...`).

The edit runs in a throw-away container with the file's directory mounted, so it works the same
over a local socket, tcp or ssh, with no second set of host credentials. It keeps a timestamped
copy of the previous file next to it (`.env.bak.<UTC time>`): rolling back is copying that file
back and restarting the application, well within five minutes.
"""

from __future__ import annotations

import posixpath

import pulumi
import pulumi_docker as docker

from components.platforms.docker.settings import EnvFileTarget

# A small pinned image with a POSIX shell and awk.
IMAGE = "alpine:3.22"

# Replaces the key's line in place (or appends it), keeping every other line, the file's owner
# and mode. Nothing is written, and no backup made, when the file already holds this DSN.
SCRIPT = r"""set -eu
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
) -> docker.Container:
    """A one-shot container that sets `target.key` to the DSN; it runs again when the DSN changes."""
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
        volumes=[docker.ContainerVolumeArgs(host_path=directory or "/", container_path="/target")],
        attach=True,
        must_run=False,
        restart="no",
        memory=32,
        log_driver="json-file",
        log_opts={"max-size": "1m", "max-file": "1"},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["envs"])),
    )
