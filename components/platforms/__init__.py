"""The platforms an app can run on; each module exposes `PLUGIN` (see components.plugins).

A platform realizes any components.spec.AppSpec and delivers DSNs; it imports no app, no stack
settings and no operations, and Docker and Kubernetes are independent of each other.
"""

from components.plugins import Registry

_registry = Registry({
    "docker": "components.platforms.docker",
    "kubernetes": "components.platforms.kubernetes",
})
names = _registry.names
get = _registry.get
