"""Configuration and secrets on Kubernetes: secret values only ever in Secrets and only ever marked
secret, files mounted read-only where the app reads them, pods rolled when a value changes, and
scratch space for read-only root filesystems.

The synthetic app hands every secret over as a PLAIN string; only the platform can make it secret,
so finding one in clear anywhere (tests.harness.plain_strings) is the platform's fault.
"""

from __future__ import annotations

import json

import pulumi
import pytest

from tests.secret_values import SECRET_SIG
from tests.k8s_helpers import (
    APP_KEY,
    FILE_SECRET,
    PG_PASSWORD,
    PLAIN_FILE,
    SECRET_VALUES,
    VARIANTS,
    changed,
    containers,
    deploy,
    deployed,
    in_clear,
    pod_spec,
    sample_spec,
    with_workload,
    workloads,
)


# --- secrets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_secret_value_is_ever_in_clear(variant):
    text = in_clear(deployed(variant))
    assert [value for value in SECRET_VALUES if value in text] == []


def test_no_configmap_carries_a_secret():
    for variant in VARIANTS:
        for config_map in deployed(variant).of_kind("ConfigMap"):
            assert SECRET_SIG not in json.dumps(config_map.raw), f"{variant}: {config_map.object_name}"


def test_secret_env_goes_to_a_secret_and_plain_env_to_a_configmap_both_read_by_the_pod():
    result = deployed("default")
    secret = result.one("Secret", "web-env")
    assert secret.inputs["stringData"] == {
        "SECRET_KEY": APP_KEY, "DATABASE_URL": f"postgres://app:{PG_PASSWORD}@postgres:5432/app"}
    assert secret.secret("stringData")
    config = result.one("ConfigMap", "web-env").inputs["data"]
    assert config == {"PORT": "8000", "APP_DOMAIN": "https://errors.example.com", "ROLE": "web"}
    (web,) = containers(result.one("Deployment", "web"))
    assert web["envFrom"] == [{"configMapRef": {"name": "web-env"}}, {"secretRef": {"name": "web-env"}}]
    assert "env" not in web
    # a workload without secrets has no Secret, one without plain values no ConfigMap
    assert [d.object_name for d in result.of_kind("ConfigMap") if d.object_name == "valkey-env"] == []
    assert containers(result.one("Deployment", "valkey"))[0]["envFrom"] == [{"secretRef": {"name": "valkey-env"}}]


def test_a_secret_value_declared_as_plain_env_is_refused_not_put_in_a_configmap():
    spec = with_workload(sample_spec(with_postgres=False), "worker", env={"LEAK": pulumi.Output.secret("oops")})
    with pytest.raises(Exception, match="demo/worker: env LEAK is secret but declared as plain"):
        deploy(spec=spec, report_task=None)
    plain_output = with_workload(sample_spec(with_postgres=False), "worker",
                                 env={"HOST": pulumi.Output.from_input("computed")})
    assert deploy(spec=plain_output, report_task=None).one("ConfigMap", "worker-env").inputs["data"] == {
        "HOST": "computed"}


def test_a_secret_value_in_a_plain_file_is_refused():
    from dataclasses import replace

    from components.spec import ConfigFile

    spec = sample_spec(with_postgres=False)
    spec = replace(spec, files=tuple(ConfigFile("app-config", pulumi.Output.secret("password: x"))
                                     if f.name == "app-config" else f for f in spec.files))
    with pytest.raises(Exception, match="plain file 'app-config' is secret"):
        deploy(spec=spec, report_task=None)


# --- configuration files -----------------------------------------------------------------------

def test_secret_files_only_in_secrets_and_plain_files_in_configmaps():
    result = deployed("default")
    for name, content in (("app-key", FILE_SECRET), ("postgres-password", PG_PASSWORD)):
        secret = result.one("Secret", name)
        assert secret.inputs["stringData"] == {"content": content} and secret.secret("stringData"), name
        assert not [c for c in result.of_kind("ConfigMap") if c.object_name == name], name
    config = result.one("ConfigMap", "app-config")
    assert config.inputs["data"] == {"content": PLAIN_FILE} and not config.secret("data")
    assert not [s for s in result.of_kind("Secret") if s.object_name == "app-config"]
    # a file no workload mounts is not declared at all
    assert not [d for d in result.k8s() if d.object_name == "unused"]


def test_files_are_mounted_read_only_by_sub_path_at_the_declared_path():
    spec, found = sample_spec(), workloads(deployed("default"))
    mounted = 0
    for w in spec.workloads():
        pod = pod_spec(found[w.name])
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = {m["mountPath"]: m for m in pod["containers"][0].get("volumeMounts", [])}
        for f in w.files:
            mount = mounts[f.path]
            assert mount["readOnly"] is True and mount["subPath"] == "content", (w.name, f.path)
            volume = volumes[mount["name"]]
            if spec.file(f.file).secret:
                assert volume["secret"]["secretName"] == f.file and "configMap" not in volume
                assert volume["secret"]["items"] == [{"key": "content", "path": "content"}]
                assert volume["secret"]["defaultMode"] == 0o440
            else:
                assert volume["configMap"]["name"] == f.file and "secret" not in volume
            mounted += 1
    assert mounted == 6  # web 2, worker, migrate, bootstrap, postgres


def test_every_pod_waits_for_the_files_and_env_it_reads():
    result = deployed("default")
    web = result.one("Deployment", "web")
    for kind, name in (("Secret", "app-key"), ("ConfigMap", "app-config"), ("Secret", "web-env"),
                       ("ConfigMap", "web-env")):
        assert result.one(kind, name).urn in web.dependencies, name


# --- rolling on change -------------------------------------------------------------------------

def checksum(result, kind="Deployment", name="web"):
    return result.one(kind, name).inputs["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


@pytest.mark.parametrize("workload, change", [
    ("web", "one plain change each"),  # its plain file
    ("worker", "one plain change each"),  # a plain variable
    ("web", "secret env value"), ("worker", "secret env value"),
    ("web", "secret file"), ("worker", "secret file"),
])
def test_pods_roll_when_a_value_or_file_they_read_changes(workload, change):
    assert checksum(changed(change), name=workload) != checksum(changed("identical"), name=workload)


def test_the_checksum_is_stable_across_identical_runs_and_not_secret():
    again = changed("identical")
    assert checksum(again) == checksum(deployed("external-db"))  # the same description, run twice
    template = deployed("default").one("Deployment", "web").raw["spec"]
    assert SECRET_SIG not in json.dumps(template["template"]["metadata"])


def test_pods_of_a_workload_whose_values_and_files_did_not_change_keep_running():
    for change in ("one plain change each", "secret env value", "secret file"):
        assert checksum(changed(change), name="valkey") == checksum(changed("identical"), name="valkey"), change


# --- scratch space -----------------------------------------------------------------------------

def test_scratch_is_an_empty_dir_with_its_size_limit_in_memory_unless_asked_otherwise():
    pod = pod_spec(deployed("default").one("Deployment", "web"))
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"] == {"sizeLimit": "64Mi", "medium": "Memory"}
    assert volumes[mounts["/var/cache/app"]["name"]]["emptyDir"] == {"sizeLimit": "128Mi"}
    assert mounts["/tmp"].get("readOnly") is not True
    postgres = pod_spec(deployed("default").one("StatefulSet", "postgres"))
    assert {"name": "scratch-0", "emptyDir": {"sizeLimit": "1Mi", "medium": "Memory"}} in postgres["volumes"]
