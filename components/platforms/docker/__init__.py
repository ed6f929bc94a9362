"""The Docker platform: an AppSpec on one Docker engine, DSNs into env files on that host."""

from components.platforms.docker.settings import parse_env_file, parse_settings
from components.plugins import Plugin
from components.spec import BUILDS_IMAGES, SHARES_VOLUMES


def _create(name, args, opts):
    from components.platforms.docker.platform import DockerPlatform

    return DockerPlatform(name, args, opts)


def _check(spec, settings):
    from components.platforms.docker.platform import check

    return check(spec, settings)


# One engine builds images and every container on it can mount any named volume.
PLUGIN = Plugin(parse_settings=parse_settings, create=_create, check=_check,
                dsn_targets={"envFile": parse_env_file}, capabilities=frozenset({BUILDS_IMAGES, SHARES_VOLUMES}))
