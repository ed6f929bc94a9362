"""The Kubernetes platform plugin: `kubernetes:` settings and the component that realizes an AppSpec.

Imported lazily by the platform registry, so pulumi-kubernetes is loaded only when selected.
"""

from __future__ import annotations

import pulumi

from components.platforms.kubernetes.settings import KubernetesSettings, parse_kubernetes_secret, parse_settings
from components.plugins import PlatformArgs, Plugin


def create(name: str, args: PlatformArgs, opts: pulumi.ResourceOptions):
    from components.platforms.kubernetes.platform import KubernetesPlatform

    return KubernetesPlatform(name, args, opts)


def check(spec, settings):
    from components.platforms.kubernetes.checks import check as check_settings

    return check_settings(spec, settings)


def url_problems(url: str, settings: KubernetesSettings) -> list[str]:
    from components.platforms.kubernetes.checks import url_problems as check_url

    return check_url(url, settings)


PLUGIN = Plugin(parse_settings=parse_settings, create=create, check=check, url_problems=url_problems,
                dsn_targets={"kubernetesSecret": parse_kubernetes_secret})

__all__ = ["PLUGIN", "KubernetesSettings", "create", "parse_settings"]
