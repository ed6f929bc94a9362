"""The apps this program can deploy; each module exposes `PLUGIN` (see components.plugins).

An app describes itself as a components.spec.AppSpec from components.settings.StackSettings; it
never names a platform. GlitchTip and Sentry are independent of each other.
"""

from components.plugins import Registry

_registry = Registry({
    "glitchtip": "components.apps.glitchtip",
    "sentry": "components.apps.sentry",
})
names = _registry.names
get = _registry.get
