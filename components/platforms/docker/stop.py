"""A StopFirst step on a Docker engine: the listed services' containers that run another image
than the one just pulled for them are stopped, all at once, each with its drain time.

The engine is asked with the docker CLI where it is reached: on this machine for unix:// and
tcp:// (DOCKER_HOST set to the provider's host; the CLI must be installed here, as it is beside
any local engine), and on the Docker host itself over SSH for ssh:// (pulumi-command, with the
post-deploy check's connection: the ssh agent authenticates, `docker.sshHostKey` pins the host).
Containers are found by the labels the platform gives every container (instance and component),
so replicas and containers of an earlier description are found too; compared by image ID, so
exactly what the new description replaces is stopped, and nothing when no image changed.

The step runs again whenever an image ID of a listed service changes (its command and triggers
hold them): an upgrade. A first install finds nothing running, and an `up` that changes no image
does not run it at all. An engine that does not answer fails the step, and nothing after it runs.
"""

from __future__ import annotations

import pulumi

from components.platforms.docker import commands
from components.spec import StopFirst

# Drain time for a service that names none (Docker's own default).
DEFAULT_GRACE_SECONDS = 10

# STOP_INSTANCE: the platform's instance label; STOP_SERVICES: `component=image-id@seconds ...`.
SCRIPT = r"""set -eu
docker version --format '{{.Server.Version}}' >/dev/null
waiting=""
for entry in $STOP_SERVICES; do
  service=${entry%%=*}; rest=${entry#*=}; image=${rest%@*}; grace=${rest##*@}
  old=""
  for id in $(docker ps --quiet --no-trunc --filter "label=app.kubernetes.io/instance=$STOP_INSTANCE" \
      --filter "label=app.kubernetes.io/component=$service"); do
    [ "$(docker container inspect --format '{{.Image}}' "$id")" = "$image" ] || old="$old $id"
  done
  [ -n "$old" ] || continue
  echo "stopping $service ($(echo $old | wc -w) container(s), up to ${grace}s to finish)"
  docker stop -t "$grace" $old >/dev/null &
  waiting="$waiting $!"
done
if [ -z "$waiting" ]; then
  echo "no container runs an image other than the one being deployed: nothing to stop"
  exit 0
fi
failed=0
for job in $waiting; do wait "$job" || failed=1; done
[ "$failed" = 0 ] || { echo "docker stop failed; see above" >&2; exit 1; }
echo "stopped"
"""


def declare(platform, stop: StopFirst) -> pulumi.Resource:
    """The step on `platform` (a DockerPlatform), once the new images are pulled or built."""
    settings, spec = platform.settings, platform.spec
    services = [spec.service(name) for name in stop.services]
    pulled = [platform.image_resource(s.image) for s in services]
    entries = pulumi.Output.all(*[platform.image_id(s.image) for s in services]).apply(lambda ids: " ".join(
        f"{s.name}={image}@{s.stop_grace_seconds or DEFAULT_GRACE_SECONDS}" for s, image in zip(services, ids)))
    name = f"{platform.name}-{stop.name}"
    opts = commands.secret_output_options(pulumi.ResourceOptions(parent=platform), *pulled)
    where = settings.ssh

    def script(services_value: str) -> str:
        env = {"STOP_INSTANCE": platform.prefix, "STOP_SERVICES": services_value}
        return commands.shell_command(SCRIPT, env, f"error-tracking-{stop.name}")

    create = entries.apply(script)
    if where is None:
        from pulumi_command import local

        # The engine's address reaches the docker CLI through the environment, never the command
        # line, and stays secret in state when the operator set docker.host as one.
        host = pulumi.Output.secret(settings.host) if settings.secret else settings.host
        return local.Command(
            name, create=create, environment={"DOCKER_HOST": host}, triggers=[entries],
            logging=local.Logging.STDOUT_AND_STDERR, add_previous_output_in_env=False, opts=opts,
        )
    from pulumi_command import remote

    if not settings.ssh_host_key:
        commands.warn_unpinned(where, "docker.sshHostKey", platform, settings.secret)
    return remote.Command(
        name, connection=commands.connection(where, settings.ssh_host_key, settings.secret),
        create=create, triggers=[entries],
        logging=remote.Logging.STDOUT_AND_STDERR, add_previous_output_in_env=False, opts=opts,
    )
