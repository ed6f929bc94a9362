"""Self-hosted Sentry (getsentry/self-hosted 26.8.0): settings, catalog, files, install steps, DSNs.

Read bottom-up (.importlinter's `sentry` contract): upstream's facts as data (catalog, images,
health_checks, topics, sizing, managed_env, versions, install_commands, relay_keys, the pure
renderers in files/ and the in-container bootstrap_script); the parsed `sentry:` section
(settings, its external stores in external); what turns settings and data into the description
(credentials, environment, services, config_files, storage, install, operations); the component (app).
"""

from components.apps.sentry.settings import parse_settings
from components.plugins import Plugin


def _create(name, settings, opts):
    from components.apps.sentry.app import Sentry

    return Sentry(name, settings, opts)


def _describe(settings):
    from components.apps.sentry.app import describe_without_secrets

    return describe_without_secrets(settings)


PLUGIN = Plugin(parse_settings=parse_settings, create=_create, describe=_describe)
