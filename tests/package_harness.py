"""Runs the package's ErrorTracking the way a consumer's program in another language reaches it.

A consumer's SDK serializes the arguments (secrets wrapped, nested Outputs kept as output values,
resources as references); the engine hands them to the plugin, whose provider server turns them
into the provider's view (plain values, or settled Outputs for secrets and values with
dependencies) and calls `Provider.construct`. Here the same two steps run in-process under the
project's mocks: pulumi.runtime.rpc.serialize_properties (what the Python SDK sends for a remote
component) and the provider server's own `ProviderServicer._construct_inputs`, then the real
`Provider.construct`, recorded with tests/harness.py's Recorder. The component's state comes
back as the consumer would get it: each output with its secret-ness.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

import pulumi
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import proto, rpc, settings
from pulumi.runtime.proto import resource_pb2

from components.package import Provider
from components.stack import TYPE
from tests import harness
from tests.mock_providers import Mocks

NAME = "tracker"
OUTPUT_VALUES = resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES


class _NoDependencies:
    """The request's inputDependencies: none (values known before the update)."""

    @staticmethod
    def get(key: str, default: Any) -> Any:
        return default


async def provider_view(args: dict[str, Any]) -> dict[str, Any]:
    """`args` as the consumer's SDK sends them and the provider server hands them over.

    The engine tells SDKs it takes output values (nested Outputs keep their own secret-ness and
    unknown-ness); Pulumi's mock monitor says it does not, so that is said here while serializing."""
    features = settings.SETTINGS.monitor_features
    added = OUTPUT_VALUES not in features
    features.add(OUTPUT_VALUES)
    try:
        struct = await rpc.serialize_properties(args, {}, keep_output_values=True)
    finally:
        if added:
            features.discard(OUTPUT_VALUES)
    return await ProviderServicer._construct_inputs(struct, _NoDependencies())


async def provider_options(providers: dict[str, pulumi.ProviderResource]) -> pulumi.ResourceOptions:
    """The `providers` resource option as the engine sends it (package -> `urn::id`) and the provider
    server turns it into options (a provider the plugin has not imported is a reference only)."""
    refs = {package: f"{await p.urn.future()}::{await p.id.future()}" for package, p in providers.items()}
    return ProviderServicer._construct_options(proto.ConstructRequest(providers=refs))


def construct(args: dict[str, Any] | Callable[[], dict[str, Any]], *, name: str = NAME, preview: bool = False,
              providers: Optional[Callable[[], dict[str, pulumi.ProviderResource]]] = None,
              url: Optional[str] = None, before: Optional[Callable[[], Any]] = None) -> harness.Deployment:
    """A consumer program that creates one ErrorTracking through the provider; `args` (or a function
    making them, for Outputs), `providers` (a function: they are made in the program), `before`:
    resources the consumer declares first. The component's outputs are reported."""
    provider = Provider()

    def program() -> asyncio.Future:
        if before:
            before()
        given = args() if callable(args) else args

        async def state() -> dict[str, Any]:
            inputs = await provider_view(given)
            options = await provider_options(providers() if providers else {})
            return provider.construct(name, TYPE, inputs, options).state

        return asyncio.ensure_future(state())

    def outputs(state: asyncio.Future) -> dict[str, pulumi.Output]:
        """Each output of the component on its own, as the engine serializes the state."""
        async def output(key: str) -> Any:
            return (await state).get(key)

        keys = ("url", "adminEmail", "adminPassword", "authToken", "dsns", "organization", "projects", "deployed",
                "dsnDeliveries", "postDeployCheck")
        return {key: pulumi.Output.from_input(output(key)) for key in keys}

    given_url = args.get("url") if isinstance(args, dict) else None
    plain_url = url or (given_url if isinstance(given_url, str) else harness.BASE_CONFIG["url"])
    return harness.run(program, preview=preview, mocks=Mocks(plain_url, preview=preview), outputs=outputs)


def refused(args: dict[str, Any] | Callable[[], dict[str, Any]], **kwargs: Any) -> list[str]:
    """The problems construct refuses `args` with (any other exception fails the test). With
    `kwargs` (a preview, resources the consumer declares first) the whole construct runs under the
    mocks; without, only what construct does first, the provider's view and its validation."""
    from components.package import ArgumentsError

    try:
        if kwargs:
            construct(args, **kwargs)
        else:
            accepted(args if callable(args) else lambda: args)
    except ArgumentsError as error:
        return error.problems
    raise AssertionError("the arguments were accepted")


def accepted(args: Callable[[], dict[str, Any]]) -> Any:
    """The settings construct would declare the stack from (it refuses with ArgumentsError), without
    declaring it: the provider's view of `args`, then the same validation."""
    from components.package import validated

    previous = asyncio.get_event_loop_policy().get_event_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        inputs = loop.run_until_complete(provider_view(args()))
        return validated("accepted", inputs, None)[0]
    finally:
        # Outputs the checks made (the app's description) settle before their loop closes; the
        # loop that was current stays current (Pulumi's test runner needs one).
        loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop), return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(previous if not previous.is_closed() else asyncio.new_event_loop())
