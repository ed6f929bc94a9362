"""The platforms an app can run on; each module exposes `PLUGIN` (see components.plugins)."""

from components.plugins import Registry

_registry = Registry({
    "docker": "components.platforms.docker",
    "kubernetes": "components.platforms.kubernetes",
})
names = _registry.names
get = _registry.get
