"""What every app and every platform provides, so that the program can use any pair of them.

An app describes its services (`AppSpec`) and reads its bootstrap report; a platform realizes a
description and delivers DSNs. Both register in `components.apps` / `components.platforms` by
name; nothing else refers to a particular app or platform.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

import pulumi

from components.spec import AppSpec
from components.validation import Problems, Section


@dataclass(frozen=True)
class DsnTarget:
    """Where one project's DSN is delivered, so that the app reading it needs no copy-paste.

    `kind` is the configuration key (`envFile`, `kubernetesSecret`) and `target` what the
    platform that owns that kind parsed from it (`Plugin.dsn_targets`).
    """

    project: str
    kind: str
    target: Any
    # `dsnTargets` holds a value set with `pulumi config set --secret`: where the DSN goes (paths,
    # hosts, keys) stays secret in state and messages.
    secret: bool = False


@dataclass(frozen=True)
class PlatformArgs:
    """What a platform component needs: the app's description and the platform's own settings."""

    spec: AppSpec
    settings: Any
    # The public base URL (`url`): where the entrypoint must be reachable.
    url: str
    # Data volumes also get `protect` (the stack's `protect` setting).
    protect: bool = False
    # The operator set `url` as a secret: objects that carry it (an Ingress) keep it secret.
    url_secret: bool = False
    # The platform's provider (a pulumi_docker or pulumi_kubernetes Provider) when the caller has
    # one (the package's `providers` option): used instead of the one the platform would make.
    provider: Optional[pulumi.ProviderResource] = None
    # Where a relative ImageBuild.context is, when not in the directory Pulumi runs the program in.
    build_root: Optional[str] = None


class Platform(Protocol):
    # What the next deployment must know of this one (a Kubernetes claim's size): the stack adds
    # it to its `deployed` output, which the next deployment reads back at preview.
    recorded: Mapping[str, pulumi.Input[Any]]

    def task_output(self, task: str) -> pulumi.Output[str]:
        """Everything a reporting task printed (secret): the app finds its report in it."""

    def deliver_dsn(self, name: str, target: DsnTarget, dsn: pulumi.Output[str]) -> pulumi.Output[str]:
        """Put one DSN where an application reads it (an env file, a Kubernetes Secret); returns
        where it went, known once delivered."""

    def post_deploy_check(self, dsn: pulumi.Output[str], triggers: Sequence[pulumi.Input],
                          timeout_seconds: int) -> Optional[pulumi.Output[str]]:
        """Run components.deploy_check.SCRIPT where the entrypoint is reachable, with `dsn` (the
        check project's, secret) kept off command lines and logs; run it again only when `triggers`
        or what the platform itself checks changes. Returns a status known once it passed, or None
        where it cannot run (manifests rendered, nothing applied); a failed check fails the update."""


class App(Protocol):
    spec: AppSpec
    report_task: str
    admin_password: pulumi.Output[str]
    # Optional `deployed_facts: Mapping[str, str]`: where the app keeps its data, exported with the
    # stack's output `deployed` so that its next deployment can refuse to strand it.

    def dsns(self, task_output: pulumi.Output[str]) -> pulumi.Output[Mapping[str, str]]:
        """project name -> DSN, from the bootstrap task's output (secret)."""

    def auth_token(self, task_output: pulumi.Output[str]) -> pulumi.Output[str]:
        """An auth token for source-map uploads from CI (sentry-cli, glitchtip-cli); secret."""


@dataclass(frozen=True)
class Plugin:
    """An app or a platform: how to validate its settings section and how to create it."""

    parse_settings: Callable[[Section, Problems], Any]
    create: Optional[Callable[..., Any]] = None
    # Apps: the description built with placeholder secrets, for checks before any resource.
    describe: Optional[Callable[[Any], AppSpec]] = None
    # Platforms: problems between their settings and an app's description (volume names...).
    check: Optional[Callable[[AppSpec, Any], list]] = None
    # Platforms: the DSN target kinds they deliver to, by configuration key (`envFile`), each
    # with the parser of its section; the parsed value must be hashable (duplicates are refused).
    dsn_targets: Mapping[str, Callable[[Section], Any]] = field(default_factory=dict)
    # Platforms: what they can do beyond realizing a description (components.spec.BUILDS_IMAGES...).
    capabilities: frozenset[str] = frozenset()
    # Set while a name is reserved but not built yet: the reason, shown to the operator.
    unsupported: Optional[str] = None
    # Platforms: problems between the public `url` and the platform's settings (an Ingress host
    # cannot be an IP address...), each naming its full setting; run before any resource.
    url_problems: Optional[Callable[[str, Any], list]] = None


class Registry:
    """Names to modules, imported only when asked for (no work at import time)."""

    def __init__(self, modules: Mapping[str, str]):
        self._modules = dict(modules)

    def names(self) -> list[str]:
        return list(self._modules)

    def get(self, name: str) -> Plugin:
        return importlib.import_module(self._modules[name]).PLUGIN
