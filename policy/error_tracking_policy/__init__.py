"""The error-tracking policy pack's policies, one module each (the engine serves them from __main__.py)."""

from . import exposure, images, ingress, limits, plain_secrets, pods, volumes

POLICIES = [
    exposure.POLICY,
    limits.POLICY,
    images.POLICY,
    plain_secrets.POLICY,
    pods.POLICY,
    ingress.POLICY,
    volumes.POLICY,
]
