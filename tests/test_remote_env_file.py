"""A DSN into an env file on another host, over SSH (`dsnTargets[i].envFile.host`): the declared
command, its connection and secrets, refusals by setting name, and the declared command itself
run for real against a temporary file (the edit script is the local one, tested in
tests/test_dsn_delivery.py; here it takes the DSN from stdin)."""

from __future__ import annotations

import stat
import subprocess

import pytest

from components.configuration import load
from components.validation import ConfigError
from tests.harness import BASE_CONFIG, deploy
from tests.secret_values import plain_strings

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def remote_target(path: str = "/srv/api/.env", **extra) -> dict:
    return {"dsnTargets": [{"project": "api", "envFile": {"path": path, "host": "ssh://app@10.0.0.7:2200", **extra}}]}


def the_command(deployment):
    (found,) = deployment.of_type("command:remote:Command")
    return found


@pytest.fixture(scope="module")
def remote():
    return deploy(remote_target(hostKey=HOST_KEY))


def test_the_dsn_goes_over_ssh_to_that_host_not_into_a_docker_container(remote):
    command = the_command(remote)
    connection = command.inputs["connection"]
    assert (connection["host"], connection["user"], connection["port"], connection["hostKey"]) == \
        ("10.0.0.7", "app", 2200, HOST_KEY)
    assert "privateKey" not in connection and "password" not in connection  # the ssh agent authenticates
    assert not [name for name in remote.containers() if "-dsn-" in name]
    create = command.inputs["create"]
    for setting in ("TARGET_DIR=/srv/api", "TARGET_FILE=.env", "TARGET_PATH=/srv/api/.env", "TARGET_KEY=SENTRY_DSN"):
        assert setting in create
    assert remote.outputs["dsnDeliveries"] == {"0": "SENTRY_DSN in ssh://app@10.0.0.7:2200/srv/api/.env"}


def test_the_dsn_is_secret_stdin_and_nothing_secret_is_logged_or_kept_in_clear(remote):
    command = the_command(remote)
    dsn = remote.outputs["dsns"]["api"]
    assert command.secret("stdin") and command.inputs["stdin"] == dsn
    assert command.inputs["logging"] == "stderr" and command.inputs["addPreviousOutputInEnv"] is False
    # (the SDK adds "connection" itself)
    assert {"stdout", "stderr"} <= set(command.options["additional_secret_outputs"])
    key = dsn.split("://", 1)[1].split("@", 1)[0]
    assert [d.name for d in remote.declared if any(key in s for s in plain_strings(d.raw))] == []


@pytest.mark.parametrize("host", [
    "ssh://10.0.0.7", "app@10.0.0.7", "ssh://app:Pa55word@10.0.0.7", "ssh://app@10.0.0.7/home",
    "ssh://app@10.0.0.7:99999", "tcp://10.0.0.7:22", "ssh://app@bad host",
])
def test_a_bad_host_is_refused_by_name(host):
    with pytest.raises(ConfigError) as refused:
        load({**BASE_CONFIG, **remote_target(), "dsnTargets": [
            {"project": "api", "envFile": {"path": "/srv/api/.env", "host": host}}]})
    assert any(p.startswith("error-tracking:dsnTargets[0].envFile.host: must be ssh://user@host[:port]")
               for p in refused.value.problems), refused.value.problems
    assert not any("Pa55word" in p for p in refused.value.problems)  # a password is never echoed


@pytest.mark.parametrize("extra, expected", [
    ({"hostKey": "AAAAC3Nza"}, "error-tracking:dsnTargets[0].envFile.hostKey: must be the host's public key"),
    ({"hostKey": HOST_KEY, "host": None}, "error-tracking:dsnTargets[0].envFile.hostKey: pins the key of `host`"),
])
def test_a_bad_host_key_is_refused_by_name(extra, expected):
    target = {"path": "/srv/api/.env", "host": "ssh://app@10.0.0.7", **extra}
    with pytest.raises(ConfigError) as refused:
        load({**BASE_CONFIG, "dsnTargets": [{"project": "api", "envFile": target}]})
    assert any(p.startswith(expected) for p in refused.value.problems), refused.value.problems


def test_the_same_path_on_another_host_is_another_target_but_not_on_the_same_host():
    same = {"path": "/srv/app/.env", "host": "ssh://app@10.0.0.7"}
    targets = load({**BASE_CONFIG, "dsnTargets": [
        {"project": "api", "envFile": same}, {"project": "web", "envFile": {"path": "/srv/app/.env"}}]}).dsn_targets
    assert [t.target.where for t in targets] == ["ssh://app@10.0.0.7/srv/app/.env", "/srv/app/.env"]
    with pytest.raises(ConfigError,
                       match=r"dsnTargets\[1\]\.envFile: writes the same target as dsnTargets\[0\]\.envFile"):
        load({**BASE_CONFIG, "dsnTargets": [{"project": "api", "envFile": same}, {"project": "web", "envFile": same}]})


def test_the_declared_command_edits_the_file_with_the_dsn_from_stdin(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("PORT=3000\nSENTRY_DSN=https://old@sentry.io/1\n")
    env_file.chmod(0o640)
    deployment = deploy(remote_target(str(env_file)))
    command = the_command(deployment)
    dsn = deployment.outputs["dsns"]["api"]

    def run():
        return subprocess.run(["sh", "-c", command.inputs["create"]], input=dsn, capture_output=True, text=True,
                              timeout=10, check=True)

    first, second = run(), run()
    assert env_file.read_text() == f"PORT=3000\nSENTRY_DSN={dsn}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    (backup,) = tmp_path.glob("app.env.bak.*")
    assert "sentry.io" in backup.read_text()
    assert "already up to date" in second.stdout  # idempotent: no second backup
    assert dsn not in first.stdout + first.stderr + second.stdout + second.stderr
    assert dsn not in command.inputs["create"]
