"""The package's ErrorTracking, reached as a program in another language reaches it (the provider's
construct path, tests/package_harness.py), is the Python program's stack: for each app × platform a
typical argument set declares the same resources as the program with the same configuration
(types, names below the component, inputs with their secret-ness, parents, dependencies,
providers and options); the outputs that are secret in the program come back secret; a secret
argument never lands in clear; a value the stack needs at preview must be known; a provider can be
passed in; two components in one stack never collide."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components import configuration, package
from tests import test_secret_config
from tests.harness import BASE_CONFIG, Deployment, deploy
from tests.secret_values import is_wrapped_secret, plain_strings
from tests.package_harness import NAME, construct, refused

CLUSTER = {"ingress": {"controllerNamespace": "ingress-nginx"}, "sharedStorageClass": "nfs-rwx"}
# A typical stack per app × platform: its projects' DSNs delivered where the applications read them.
TYPICAL = {
    ("glitchtip", "docker"): {"dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env"}}]},
    ("glitchtip", "kubernetes"): {"platform": "kubernetes", "kubernetes": CLUSTER, "dsnTargets": [
        {"project": "api", "kubernetesSecret": {"namespace": "shop", "name": "api-dsn"}}]},
    ("sentry", "docker"): {"app": "sentry"},
    ("sentry", "kubernetes"): {"app": "sentry", "platform": "kubernetes", "kubernetes": CLUSTER,
                               "sentry": {"internalNetworks": ["10.1.0.0/16"]}},
}
SECRET_OUTPUTS = {"adminPassword", "authToken", "dsns"}


def relative(deployment: Deployment, root: str) -> list[dict[str, Any]]:
    """Every declared resource as the component's own: its name below the component (`root-` taken
    off), and every reference to another resource by that name; the package's absolute build
    context as the program's relative one."""
    names = {d.urn: "<component>" if d.name == root else below(d.name, root) for d in deployment.declared}

    def text(value: Any) -> Any:
        raw = json.dumps(value, sort_keys=True)
        if root == NAME:  # the package's: labels name its instance, builds read the repository
            raw = re.sub(rf"\b{NAME}-", "", raw.replace(f"{package.ROOT}/", ""))
        # Jobs are named after a hash of what they run, their labels included.
        return json.loads(re.sub(r"(?<=-)[0-9a-f]{8}\b", "<hash>", raw))

    def provider(reference: str) -> str:
        return names.get(reference.rsplit("::", 1)[0], reference)

    return sorted((json.dumps({
        "type": d.typ, "name": names[d.urn], "inputs": text(d.raw), "read": d.read, "id": d.resource_id,
        "parent": names.get(d.parent, "<the consumer>"), "provider": provider(d.provider),
        "dependencies": sorted(names[u] for u in d.dependencies), "options": d.options,
    }, sort_keys=True) for d in deployment.declared))


def below(name: str, root: str) -> str:
    return name[len(root) + 1:] if name.startswith(f"{root}-") else name


@pytest.fixture(scope="module", params=sorted(TYPICAL), ids=lambda p: "-".join(p))
def pair(request) -> tuple[Deployment, Deployment]:
    """(the program's deployment, the package's) of one typical stack."""
    config = {**BASE_CONFIG, **TYPICAL[request.param]}
    return deploy(config), construct(config)


def test_the_package_declares_what_the_program_declares(pair):
    program, component = pair
    assert relative(component, NAME) == relative(program, "error-tracking")


def test_the_outputs_are_the_programs_and_the_secret_ones_come_back_secret(pair):
    program, component = pair
    assert SECRET_OUTPUTS <= component.secret_outputs
    assert component.secret_outputs == program.secret_outputs & set(component.outputs)
    for key in ("url", "adminEmail", "organization", "projects", "dsns", "deployed"):
        assert component.outputs[key] == program.outputs[key], key


def test_the_component_and_its_children_are_named_after_the_consumers_component(pair):
    _, component = pair
    [root] = component.of_type("error-tracking:index:ErrorTracking")
    assert root.name == NAME and root.parent.endswith("pulumi:pulumi:Stack::error-tracking-test")
    assert all(d.name.startswith(f"{NAME}-") for d in component.declared if d is not root)


# --- secrets -------------------------------------------------------------------------------------

def test_a_secret_argument_stays_secret_in_every_child_and_output():
    """Passed as secrets (Outputs, as a consumer's pulumi.secret() arrives), never seen in clear."""
    values = {"url": "https://zqurlzq.example.com", "adminEmail": "zqadminzq@example.com",
              "organization": "Org zqorgzq"}

    def args():
        return {**BASE_CONFIG, **{k: pulumi.Output.secret(v) for k, v in values.items()},
                "projects": [{"name": "api", "platform": "python"}, {"name": pulumi.Output.secret("zqprojzq")}]}

    deployment = construct(args, url=values["url"])
    clear = "\n".join(s for d in deployment.declared for s in plain_strings(d.raw))
    assert [m for m in ("zqurlzq", "zqadminzq", "zqorgzq", "zqprojzq") if m in clear] == []
    assert {"url", "adminEmail", "organization", "projects"} <= deployment.secret_outputs
    # Passed in clear, the url is in clear: the search above can see what it looks for.
    plain = construct({**BASE_CONFIG, **values}, url=values["url"])
    assert "zqurlzq" in "\n".join(s for d in plain.declared for s in plain_strings(d.raw))
    assert "url" not in plain.secret_outputs


@pytest.mark.parametrize("platform", ["docker", "kubernetes"])
def test_every_key_passed_as_a_secret_is_what_the_program_makes_of_it_set_as_one(platform):
    """tests/test_secret_config.py's samples (a marker in every value of each key), every key at once:
    passed as secret arguments they declare what the program declares with them set as secrets
    (that test proves each key's values stay secret there), and no marker is ever in clear."""
    samples: dict[str, Any] = {}
    for key in configuration.top_level_keys():
        # databaseUrl leaves no backup to copy off-site: the backup sample stands for the rest.
        if key not in test_secret_config.NO_VALUES and key != "databaseUrl":
            samples.update(test_secret_config.sample(key, "glitchtip", platform) or {})
    config = {**BASE_CONFIG, **test_secret_config.everything_on("glitchtip", platform), **samples}
    program = deploy(config, secret_keys=tuple(samples))
    component = construct(lambda: {k: pulumi.Output.secret(v) if k in samples else v for k, v in config.items()},
                          url=samples["url"])
    assert relative(component, NAME) == relative(program, "error-tracking")
    markers = [test_secret_config.marker(key) for key in samples]
    assert all(test_secret_config.found(component, m, in_clear=False) for m in markers)
    assert [m for m in markers if test_secret_config.found(component, m, in_clear=True)] == []


def test_a_credential_passed_in_clear_is_refused_and_as_a_secret_accepted():
    email_url = "smtp+tls://mailer:Pw-never-echoed-7@smtp.example.com:587"
    found = refused({**BASE_CONFIG, "glitchtip": {"emailUrl": email_url}}, name="clear")
    assert found == ["glitchtip.emailUrl: holds an SMTP URL with a password in it and is not passed as a secret (it "
                     "would sit in clear in the stack's state); pass it as one, e.g. `pulumi.secret(...)` for "
                     "`glitchtip.emailUrl`"]
    # Only the URL a secret: the rest of `glitchtip` follows it, as with `pulumi config set --secret`.
    deployment = construct(lambda: {**BASE_CONFIG, "glitchtip": {"emailUrl": pulumi.Output.secret(email_url),
                                                                 "fromEmail": "zqfromzq@example.com"}})
    clear = "\n".join(s for d in deployment.declared for s in plain_strings(d.raw))
    assert "Pw-never-echoed-7" not in clear and "zqfromzq" not in clear
    plain = construct({**BASE_CONFIG, "glitchtip": {"fromEmail": "zqfromzq@example.com"}})
    assert "zqfromzq" in "\n".join(s for d in plain.declared for s in plain_strings(d.raw))


# --- unknown at preview --------------------------------------------------------------------------

def unknown() -> pulumi.Output:
    """A value a preview does not know yet (another resource's output)."""
    return pulumi.Output.secret(k8s.core.v1.Namespace("shop").metadata.apply(lambda m: m["uid"]))


def test_a_value_that_decides_what_is_declared_must_be_known_at_preview():
    found = refused(lambda: {**BASE_CONFIG, "organization": unknown()}, preview=True)
    assert found == ["organization: must be known at preview: it decides which resources are declared (pass a value "
                     "known before the update, or a provider in the `providers` option)"]


def test_a_kubeconfig_may_be_unknown_at_preview_and_reaches_the_provider_as_a_secret():
    config = {**BASE_CONFIG, **TYPICAL["glitchtip", "kubernetes"], "dsnTargets": []}
    deployment = construct(lambda: {**config, "kubernetes": {**CLUSTER, "kubeconfig": unknown()}}, preview=True)
    [provider] = deployment.of_type("pulumi:providers:kubernetes")
    assert is_wrapped_secret(provider.raw["kubeconfig"]) and provider.inputs["kubeconfig"] == "<unknown>"


# --- providers -----------------------------------------------------------------------------------

def test_a_kubernetes_provider_passed_in_decides_the_cluster_for_every_child():
    config = {**BASE_CONFIG, **TYPICAL["glitchtip", "kubernetes"]}
    cluster: dict[str, Any] = {}

    def before():
        cluster["provider"] = k8s.Provider("their-cluster", enable_server_side_apply=True,
                                           enable_config_map_mutable=True, enable_secret_mutable=True)

    deployment = construct(config, before=before, providers=lambda: {"kubernetes": cluster["provider"]})
    [theirs] = deployment.of_type("pulumi:providers:kubernetes")
    assert theirs.name == "their-cluster"
    used = {d.provider.rsplit("::", 1)[0] for d in deployment.k8s() if not d.read}
    assert used == {theirs.urn}
    # Their provider has no default namespace: every namespaced object names its own.
    assert [d.name for d in deployment.k8s() if d.kind != "Namespace" and not d.inputs["metadata"].get("namespace")] == []


def test_a_provider_setting_beside_a_provider_passed_in_is_refused():
    config = {**BASE_CONFIG, **TYPICAL["glitchtip", "kubernetes"]}
    config["kubernetes"] = {**CLUSTER, "context": "prod"}
    cluster: dict[str, Any] = {}
    found = refused(config, before=lambda: cluster.setdefault("p", k8s.Provider("their-cluster")),
                    providers=lambda: {"kubernetes": cluster["p"]})
    assert found == ["kubernetes.context: is not used: the kubernetes provider passed in the `providers` option "
                     "decides it; set it on that provider"]


def test_a_resource_where_a_value_belongs_is_refused_by_its_argument():
    """A resource reference (a YAML program can pass one anywhere) is no setting's value."""
    found = refused(lambda: {**BASE_CONFIG, "organization": k8s.core.v1.Namespace("shop")}, name="resource")
    assert found == ["organization: is a resource; pass providers in the `providers` resource option, values here"]


def test_two_components_in_one_stack_name_every_child_apart():
    first = construct(BASE_CONFIG, name="errors-a")
    second = construct({**BASE_CONFIG, "docker": {"namePrefix": "glitchtip-b", "port": 8001}}, name="errors-b")
    assert not {d.urn for d in first.declared} & {d.urn for d in second.declared}


def test_sentry_on_docker_builds_from_the_repository_wherever_the_consumer_runs(pair):
    """The consumer's program runs in its own directory: the build context is this repository's."""
    _, component = pair
    for build in component.of_type("docker:index/image:Image"):
        context = Path(build.inputs["build"]["context"])
        assert context.is_absolute() and (context / "Dockerfile").is_file()
        assert build.inputs["build"]["dockerfile"] == str(context / "Dockerfile")
