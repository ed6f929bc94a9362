"""The apps this program can deploy; each module exposes `PLUGIN` (see components.plugins)."""

from components.plugins import Registry

_registry = Registry({
    "glitchtip": "components.apps.glitchtip",
    "sentry": "components.apps.sentry",
})
names = _registry.names
get = _registry.get
