"""GlitchTip 6: settings, service description, bootstrap and DSNs.

Read bottom-up: sizing and the in-container bootstrap_script, settings (the `glitchtip:`
section), operations (backups and watchdog wiring), services (the description), app (the component).
"""

from components.apps.glitchtip.settings import parse_settings
from components.plugins import Plugin


def _create(name, settings, opts):
    from components.apps.glitchtip.app import GlitchTip

    return GlitchTip(name, settings, opts)


def _describe(settings):
    from components.apps.glitchtip.app import describe_without_secrets

    return describe_without_secrets(settings)


PLUGIN = Plugin(parse_settings=parse_settings, create=_create, describe=_describe)
