"""ErrorTracking as a component package: the same stack, for a Pulumi program in any language.

`pulumi package add <this repository>/package` runs package/__main__.py, which hosts `Provider`
below; Pulumi's analyzer builds the package's schema from `ErrorTracking`'s annotations
(components.arguments) and generates an SDK for the consumer's language. When the consumer's
program creates an `ErrorTracking`, the engine calls `Provider.construct` with its arguments, which
are the configuration's keys with the same names: they go through components.configuration like
the configuration does (the same checks and messages, each naming its argument's path instead of
`error-tracking:`), before any resource, and then the same components.stack.ErrorTracking declares
the stack, its children named after the consumer's component. No `from __future__ import
annotations`: the analyzer reads ErrorTracking's annotations as types.

What is secret stays secret: an argument passed as a secret marks its top-level key secret (as
`pulumi config set --secret` does), a credential passed in clear is refused, and the outputs that
are secret in the program (adminPassword, authToken, dsns) reach the consumer as secrets.
"""

import dataclasses
import typing
from pathlib import Path
from typing import Any, Mapping, Optional

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.output import Unknown, contains_unknowns
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.provider import ConstructResult

from components import configuration
from components.arguments import ErrorTrackingArgs
from components.stack import TYPE, ErrorTracking as Stack, preflight
from components.validation import PROJECT, ConfigError

NAME = "error-tracking"
# Where images the platform builds are described (images/...): the repository, wherever the
# consumer's program runs (relative paths would be the consumer's project directory's).
ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"
# An argument that may be unknown at preview: it only configures the platform's provider.
MAY_BE_UNKNOWN = frozenset({"kubernetes.kubeconfig"})
# The settings a provider passed in (the `providers` option) decides instead, by platform.
PROVIDER_SETTINGS = {"docker": ("sshOpts",), "kubernetes": ("kubeconfig", "context", "renderYamlTo")}


class ArgumentsError(InputPropertiesError):
    """Every problem with the arguments, each named by its path, before any resource.

    An empty list of per-property details on purpose: the engine would print each property's value
    beside it, and a value is never echoed (it may be a credential passed in clear); without any
    list the provider server fails to build its answer (pulumi 3.272: no trailing metadata)."""

    def __init__(self, name: str, problems: list[str]):
        self.problems = problems
        super().__init__(f'invalid arguments for ErrorTracking "{name}":\n' + "\n".join(f"  - {p}" for p in problems),
                         errors=[])


def argument_advice(path: str) -> str:
    """How to make an argument a secret, said to the consumer of the package."""
    return (f"is not passed as a secret (it would sit in clear in the stack's state); pass it as one, "
            f"e.g. `pulumi.secret(...)` for `{path}`")


@dataclasses.dataclass
class Arguments:
    """The arguments as configuration: plain values by the configuration's names, and which of
    them arrived as secrets or unknown (preview)."""

    values: dict[str, Any]
    secret_paths: set[str] = dataclasses.field(default_factory=set)
    plain_paths: set[str] = dataclasses.field(default_factory=set)
    unknown: dict[str, Any] = dataclasses.field(default_factory=dict)  # path -> the Output, if any
    not_values: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def read(cls, inputs: Mapping[str, Any]) -> "Arguments":
        found = cls(values={})
        found.values = {key: found._read(value, key, False) for key, value in inputs.items()}
        found.values = {k: v for k, v in found.values.items() if v is not None}
        return found

    def _read(self, value: Any, path: str, secret: bool) -> Any:
        if isinstance(value, pulumi.Output):
            data = settled(value)
            if data is None or not data.is_known or contains_unknowns(data.value):
                self.unknown[path] = value
                return None
            return self._read(data.value, path, secret or data.is_secret)
        if isinstance(value, Unknown):
            self.unknown[path] = None
            return None
        if isinstance(value, pulumi.Resource):
            self.not_values.append(path)
            return None
        if isinstance(value, dict):
            return {k: self._read(v, f"{path}.{k}", secret) for k, v in value.items()}
        if isinstance(value, list):
            return [self._read(v, f"{path}[{i}]", secret) for i, v in enumerate(value)]
        (self.secret_paths if secret else self.plain_paths).add(path)
        # Numbers cross the engine as floats: a whole one is the integer the consumer wrote.
        return int(value) if isinstance(value, float) and value.is_integer() else value

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(_top(path) for path in self.secret_paths)


def settled(output: pulumi.Output) -> Any:
    """The resolved data of an Output, or None while it is pending.

    The provider server hands each argument over as a plain value or as an Output whose data is
    already set (pulumi/provider/server.py `_select_value`, runtime/rpc.py
    `deserialize_output_value`); construct() is synchronous, so it reads that data without
    awaiting. tests/test_package_construct.py runs that path, so a change in the SDK fails there."""
    data = getattr(output, "_data", None)
    if data is None or not data.done() or data.cancelled() or data.exception() is not None:
        return None
    return data.result()


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def providers_of(opts: Optional[pulumi.ResourceOptions]) -> dict[str, pulumi.ProviderResource]:
    """The providers passed in the `providers` resource option, by package."""
    given = (opts.providers if opts else None) or {}
    if isinstance(given, Mapping):
        return dict(given)
    return {provider.package: provider for provider in given}


def validated(name: str, inputs: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions]):
    """(settings, the platform's provider if one was passed): the arguments checked as the
    configuration is, or ArgumentsError with every problem named by its argument's path."""
    arguments = Arguments.read(inputs)
    problems = [f"{path}: is a resource; pass providers in the `providers` resource option, values here"
                for path in arguments.not_values]
    placeholders = {}
    for path in sorted(arguments.unknown):
        if path in MAY_BE_UNKNOWN:
            placeholders[path] = arguments.unknown[path]
        else:
            problems.append(f"{path}: must be known at preview: it decides which resources are declared (pass a "
                            "value known before the update, or a provider in the `providers` option)")
    values = _with_placeholders(arguments.values, placeholders)
    settings = None
    try:
        settings = configuration.load(values, arguments.secret_keys, frozenset(arguments.plain_paths),
                                      secret_advice=argument_advice)
        preflight(settings)
    except ConfigError as error:
        problems += [_named(problem) for problem in error.problems]
    provider = None
    if settings is not None:
        provider = providers_of(opts).get(settings.platform)
        if provider is not None:
            for key in PROVIDER_SETTINGS[settings.platform]:
                if (values.get(settings.platform) or {}).get(key) is not None:
                    problems.append(f"{settings.platform}.{key}: is not used: the {settings.platform} provider passed "
                                    "in the `providers` option decides it; set it on that provider")
    if problems:
        raise ArgumentsError(name, problems)
    if placeholders:
        settings = _with_outputs(settings, placeholders)
    return settings, provider


def _named(problem: str) -> str:
    """A configuration problem (`error-tracking:sentry.kafka.retentionHours: ...`) named by its
    argument's path (`sentry.kafka.retentionHours: ...`): every problem starts with the project's
    prefix (tests/test_package_construct.py holds every bad-input case to that)."""
    prefix = f"{PROJECT}:"
    return problem[len(prefix):] if problem.startswith(prefix) else problem


def _with_placeholders(values: dict, placeholders: Mapping[str, Any]) -> dict:
    """Values for validation where an argument is unknown at preview: a kubeconfig stands in as a
    file path (never a credential in clear), its Output goes to the provider afterwards."""
    if not placeholders:
        return values
    values = {**values, "kubernetes": {**(values.get("kubernetes") or {}), "kubeconfig": "known-at-update"}}
    return values


def _with_outputs(settings, placeholders: Mapping[str, Any]):
    kubeconfig = pulumi.Output.secret(placeholders["kubernetes.kubeconfig"])
    return dataclasses.replace(settings, platform_settings=dataclasses.replace(settings.platform_settings,
                                                                               kubeconfig=kubeconfig))


def config_shape(value: Any, typ: Any) -> Any:
    """Arguments written in Python (`admin_email`) as the configuration names them (`adminEmail`),
    following the argument types; keys of free-form maps (env variables, volumes) stay as written."""
    typ = _unwrapped(typ)
    if typing.is_typeddict(typ) and isinstance(value, Mapping):
        hints = dict(typ.__annotations__)
        return {camel_case(k) if k in hints else k: config_shape(v, hints.get(k, Any)) for k, v in value.items()}
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is list and isinstance(value, list):
        return [config_shape(v, args[0]) for v in value]
    if origin is dict and isinstance(value, Mapping):
        return {k: config_shape(v, args[1]) for k, v in value.items()}
    return value


def _unwrapped(typ: Any) -> Any:
    """`pulumi.Input[T]` (a Union of T, Awaitable[T] and Output[T]) as T."""
    args = typing.get_args(typ)
    if typing.get_origin(typ) is typing.Union and args:
        return _unwrapped(args[0])
    return typ


class ErrorTracking(Stack):
    ("GlitchTip or self-hosted Sentry on a Docker host or Kubernetes: every secret generated, an admin, an "
     "organization, a team and a project per application created, each project's DSN an output and, if asked, "
     "delivered into an env file or a Kubernetes Secret. Pass a Kubernetes or Docker provider in the `providers` "
     "resource option to point it at a cluster or engine your program manages.")

    url: pulumi.Output[str]
    "the public base URL (secret if passed as one)"
    admin_email: pulumi.Output[str]
    "the superuser's e-mail"
    admin_password: pulumi.Output[str]
    "secret: the superuser's generated password"
    auth_token: pulumi.Output[str]
    "secret: a token for source-map uploads from CI (`SENTRY_AUTH_TOKEN`)"
    dsns: pulumi.Output[dict[str, str]]
    "secret: project name -> DSN"
    organization: pulumi.Output[str]
    "the organization"
    projects: pulumi.Output[list[str]]
    "the projects' names"
    deployed: pulumi.Output[dict[str, Any]]
    ("what runs (`{app, version}`, Kubernetes claims' sizes): export it as the stack output `deployed`, which the "
     "next deployment reads back to refuse a version jump or a claim it cannot shrink")
    dsn_deliveries: pulumi.Output[dict[str, str]]
    "where each `dsnTargets` entry delivered its DSN, once delivered"
    post_deploy_check: Optional[pulumi.Output[str]]
    "what the post-deploy check proved, when it is on"

    def __init__(self, name: str, args: ErrorTrackingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        """In a Python program: `args` by Python names. The provider passes the configuration's
        names (`ErrorTracking.construct`)."""
        self._declare(name, config_shape(args, ErrorTrackingArgs), opts)

    @classmethod
    def construct(cls, name: str, inputs: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions]) -> "ErrorTracking":
        component = cls.__new__(cls)
        component._declare(name, inputs, opts)
        return component

    def _declare(self, name: str, inputs: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions]) -> None:
        settings, provider = validated(name, inputs, opts)
        super().__init__(name, settings, opts, child_prefix=f"{name}-", provider=provider, build_root=str(ROOT))
        self.dsn_deliveries = self.deliveries
        self.post_deploy_check = self.check


class Provider(ComponentProvider):
    """Pulumi's component provider for ErrorTracking, whose construct refuses bad arguments with the
    configuration's messages (the base class would wrap them in a traceback, and drop keys the
    schema does not know instead of refusing them)."""

    def __init__(self) -> None:
        super().__init__([ErrorTracking], NAME, None, VERSION)

    def construct(self, name: str, resource_type: str, inputs: Mapping[str, Any],
                  options: Optional[pulumi.ResourceOptions] = None) -> ConstructResult:
        self.validate_resource_type(NAME, resource_type)
        if resource_type != TYPE:
            raise InputPropertiesError(f"unknown resource type {resource_type}; this package has {TYPE}")
        component = ErrorTracking.construct(name, inputs, options)
        return ConstructResult(component.urn, self.get_state(component, self._component_defs["ErrorTracking"]))
