"""The package's schema, as Pulumi's analyzer builds it in-process from ErrorTracking's annotations:
every argument the configuration reads is there (each object with exactly the keys its parser
allows), typed, with a meaning; every output is there with its type; the committed snapshot is the
schema (package/schema.json: what consumers' SDKs are generated from, so a change is a decision);
and the meanings are the README's and Pulumi.yaml's, word for word."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import configuration
from components.package import NAME, Provider
from components.stack import TYPE
from components.validation import ConfigError
from scripts import sync_descriptions
from tests.harness import BASE_CONFIG

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads(Provider().schema)
COMPONENT = SCHEMA["resources"][TYPE]
SYNC = "python3 scripts/sync_descriptions.py"
OUTPUTS = {"url": "string", "adminEmail": "string", "adminPassword": "string", "authToken": "string",
           "dsns": "object", "organization": "string", "projects": "array", "deployed": "object",
           "dsnDeliveries": "object", "postDeployCheck": "string"}
CLUSTER = {"platform": "kubernetes", "kubernetes": {"ingress": {"controllerNamespace": "x"}}}

# Where each object argument is read, and a configuration that makes its parser read it: the parser
# names every key it allows when it refuses an unknown one (`allowed here: ...`).
OBJECTS: dict[str, tuple[str, dict[str, Any]]] = {
    "": ("", {}),
    "Project": ("projects[0]", {"projects": [{"name": "a"}]}),
    "DsnTarget": ("dsnTargets[0]", {"dsnTargets": [{"project": "api", "envFile": {"path": "/x"}}]}),
    "EnvFile": ("dsnTargets[0].envFile", {"dsnTargets": [{"project": "api", "envFile": {"path": "/x"}}]}),
    "KubernetesSecret": ("dsnTargets[0].kubernetesSecret", {**CLUSTER, "dsnTargets": [
        {"project": "api", "kubernetesSecret": {"namespace": "a", "name": "b"}}]}),
    "Backup": ("backup", {}), "Drill": ("backup.drill", {}), "Offsite": ("backup.offsite", {}),
    "Alerts": ("alerts", {}), "Telegram": ("alerts.telegram", {}), "Webhook": ("alerts.webhook", {}),
    "Email": ("alerts.email", {}), "PostDeployCheck": ("postDeployCheck", {}),
    "Glitchtip": ("glitchtip", {}), "Resources": ("glitchtip.resources.web", {}),
    "Sentry": ("sentry", {"app": "sentry"}), "Mail": ("sentry.mail", {"app": "sentry"}),
    "Workers": ("sentry.workers", {"app": "sentry"}), "Kafka": ("sentry.kafka", {"app": "sentry"}),
    "External": ("sentry.external", {"app": "sentry"}),
    "ExternalPostgres": ("sentry.external.postgres", {"app": "sentry"}),
    "ExternalRedis": ("sentry.external.redis", {"app": "sentry"}),
    "ExternalKafka": ("sentry.external.kafka", {"app": "sentry"}),
    "Sasl": ("sentry.external.kafka.sasl", {"app": "sentry", "sentry": {"external": {"kafka": {
        "bootstrapServers": ["k:9092"], "securityProtocol": "SASL_SSL",
        "sasl": {"mechanism": "PLAIN", "username": "u", "password": "p"}}}}}),
    "ExternalClickhouse": ("sentry.external.clickhouse", {"app": "sentry"}),
    "ExternalS3": ("sentry.external.s3", {"app": "sentry"}),
    "Docker": ("docker", {}), "Kubernetes": ("kubernetes", CLUSTER), "Ingress": ("kubernetes.ingress", CLUSTER),
    "Gateway": ("kubernetes.gateway", CLUSTER), "Autoscaling": ("kubernetes.autoscaling.web", CLUSTER),
    "Dns": ("kubernetes.dns", CLUSTER),
}


def properties(name: str) -> dict[str, Any]:
    return COMPONENT["inputProperties"] if name == "" else SCHEMA["types"][f"{NAME}:index:{name}"]["properties"]


def with_unknown_key(config: dict[str, Any], path: str) -> dict[str, Any]:
    """`config` with a key `zzz` set at `path` (dots and [i] as the messages name settings)."""
    values = json.loads(json.dumps(config))
    node: Any = values
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            node = node[int(part[1:-1])]
        else:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node
    node["zzz"] = 1
    return values


def allowed(path: str, config: dict[str, Any]) -> set[str]:
    """The keys the configuration's parser allows at `path`, as it lists them refusing `zzz`."""
    with pytest.raises(ConfigError) as refused:
        configuration.load(with_unknown_key({**BASE_CONFIG, **config}, path), frozenset({"sentry"}))
    named = f"error-tracking:{path + '.' if path else ''}zzz: unknown setting;"
    [problem] = [p for p in refused.value.problems if p.startswith(named)]
    listed = problem.split("allowed here: ", 1)[1].split(" (", 1)[0]
    return set(listed.split(", "))


def test_every_object_the_schema_has_is_checked_here():
    assert {f"{NAME}:index:{name}" for name in OBJECTS if name} == set(SCHEMA["types"])


@pytest.mark.parametrize("name", sorted(OBJECTS), ids=lambda n: n or "ErrorTracking")
def test_each_argument_object_has_exactly_the_keys_its_configuration_allows(name):
    path, config = OBJECTS[name]
    assert set(properties(name)) == allowed(path, config)


def test_the_top_level_arguments_are_the_configurations_keys():
    assert set(COMPONENT["inputProperties"]) == set(configuration.top_level_keys())
    # The configuration decides what is required, with its own message naming the argument.
    assert COMPONENT["requiredInputs"] == []


@pytest.mark.parametrize("name", sorted(OBJECTS), ids=lambda n: n or "ErrorTracking")
def test_every_argument_is_typed_and_described(name):
    for key, prop in properties(name).items():
        assert prop.get("type") or prop.get("$ref"), f"{name}.{key}: no type"
        assert prop.get("description", "").strip(), f"{name}.{key}: no description (the string after it)"
        items = prop.get("items") or prop.get("additionalProperties")
        if items:
            assert items.get("type") or items.get("$ref"), f"{name}.{key}: untyped items"
    if name:
        assert SCHEMA["types"][f"{NAME}:index:{name}"]["description"].strip()


def test_the_outputs_are_the_programs_with_their_types():
    assert {key: prop.get("type") for key, prop in COMPONENT["properties"].items()} == OUTPUTS
    assert all(prop["description"].strip() for prop in COMPONENT["properties"].values())
    # Known once deployed, except the check's result when the check is off.
    assert set(COMPONENT["required"]) == set(OUTPUTS) - {"postDeployCheck"}
    assert COMPONENT["isComponent"] and COMPONENT["description"].strip()


def test_the_package_is_named_and_versioned_and_its_token_is_the_components():
    assert (SCHEMA["name"], SCHEMA["resources"].keys()) == (NAME, {TYPE})
    assert re.fullmatch(r"\d+\.\d+\.\d+", SCHEMA["version"])


def test_the_committed_schema_is_the_one_the_analyzer_builds():
    committed = (ROOT / "package" / "schema.json").read_text()
    assert committed == sync_descriptions.schema_text(SCHEMA), (
        "the package's schema changed (an argument, an output, a meaning or the version): if that is meant, "
        f"run `{SYNC}` and commit package/schema.json with it")


@pytest.mark.parametrize("section, key", [(s, k) for _, s, k, _, _ in
                                          sync_descriptions.readme_rows((ROOT / "README.md").read_text())])
def test_each_readme_table_row_says_what_the_argument_says(section, key):
    rows = {(s, k): meaning for _, s, k, _, meaning in
            sync_descriptions.readme_rows((ROOT / "README.md").read_text())}
    assert rows[section, key] == sync_descriptions.describe(SCHEMA, section, key), (
        f"README {section or 'top'}.{key}: its meaning is components/arguments/'s; edit it there and run `{SYNC}`")


def test_the_readme_tables_are_read_and_have_a_row_per_top_level_key():
    rows = list(sync_descriptions.readme_rows((ROOT / "README.md").read_text()))
    assert {k for _, s, k, _, _ in rows if s == ""} == set(configuration.top_level_keys())
    assert {s for _, s, _, _, _ in rows} == {"", "glitchtip", "sentry", "docker", "kubernetes"}


@pytest.mark.parametrize("key", sorted(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]))
def test_each_pulumi_yaml_description_is_the_arguments(key):
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"][key]
    assert declared["description"] == sync_descriptions.describe(SCHEMA, "", key), (
        f"Pulumi.yaml {key}: its description is components/arguments/'s; edit it there and run `{SYNC}`")


def test_the_plugin_serves_that_schema_from_anywhere(tmp_path):
    """package/__main__.py as Pulumi runs it (`python <plugin directory> <engine address>`, from the
    consumer's directory): it finds the repository's components itself, serves gRPC, answers
    GetSchema with the committed schema, and refuses bad arguments to Construct as the engine shows
    them: every problem by its argument's path, no traceback, no value of a credential."""
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    plugin = subprocess.Popen([sys.executable, str(ROOT / "package"), "127.0.0.1:1"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), plugin.stderr.read()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            served = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
            # Bad arguments are refused before anything is registered (so no engine is needed here).
            inputs = struct_pb2.Struct()
            inputs.update({**BASE_CONFIG, "url": "https://errors.example.com/tracker",
                           "glitchtip": {"emailUrl": "smtp://mailer:Pw-never-echoed-7@smtp.example.com"}})
            with pytest.raises(grpc.RpcError) as refused:
                stub.Construct(provider_pb2.ConstructRequest(project="shop", stack="dev", type=TYPE, name="errors",
                                                             inputs=inputs), timeout=60)
    finally:
        plugin.kill()
        plugin.wait(timeout=30)
    assert json.loads(served) == json.loads((ROOT / "package" / "schema.json").read_text())
    assert info.version == SCHEMA["version"]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == (
        'invalid arguments for ErrorTracking "errors":\n  - glitchtip.emailUrl: holds an SMTP URL with a password in it '
        "and is not passed as a secret (it would sit in clear in the stack's state); pass it as one, e.g. "
        "`pulumi.secret(...)` for `glitchtip.emailUrl`\n  - url: must not have a path: the tracker is served at the "
        "root of its host (Sentry does not serve under a sub-path and GlitchTip's frontend ignores one); give it a "
        'host of its own, like https://errors.example.com, got "https://errors.example.com/tracker"')


def test_python_names_are_the_configurations_and_free_form_keys_stay_as_written():
    """ErrorTracking used in a Python program takes the arguments by their Python names."""
    from components.arguments import ErrorTrackingArgs
    from components.package import config_shape

    args = {"admin_email": "ops@example.com",
            "dsn_targets": [{"project": "api", "env_file": {"path": "/opt/api/.env", "host_key": "ssh-ed25519 A"}}],
            "glitchtip": {"email_url": "smtp://h", "env": {"MY_SETTING_NAME": "1"}, "max_replicas": {"web": 2}},
            "kubernetes": {"ingress": {"class_name": "nginx"}, "volume_sizes": {"postgres-data": 10},
                           "autoscaling": {"web": {"min_replicas": 1}}},
            "sentry": {"mail": {"from_": "sentry@example.com"}}}
    assert config_shape(args, ErrorTrackingArgs) == {
        "adminEmail": "ops@example.com",
        "dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env", "hostKey": "ssh-ed25519 A"}}],
        "glitchtip": {"emailUrl": "smtp://h", "env": {"MY_SETTING_NAME": "1"}, "maxReplicas": {"web": 2}},
        "kubernetes": {"ingress": {"className": "nginx"}, "volumeSizes": {"postgres-data": 10},
                       "autoscaling": {"web": {"minReplicas": 1}}},
        "sentry": {"mail": {"from": "sentry@example.com"}}}
