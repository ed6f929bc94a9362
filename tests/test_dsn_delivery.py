"""DSNs: read from the bootstrap report, checked, and written into an application's env file."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.dsn import DsnError, dsns_from_output
from components.platforms.docker.env_file import SCRIPT
from components.spec import REPORT_PREFIX
from tests.harness import deploy, env_of

KEY = "0123456789abcdef0123456789abcdef"


def report(**projects):
    import json
    return "noise\n" + REPORT_PREFIX + json.dumps({"projects": {k: {"dsn": v} for k, v in projects.items()}})


def test_dsns_are_taken_from_the_report_line_among_other_output():
    dsns = dsns_from_output(report(api=f"https://{KEY}@errors.example.com/3"), ["api"], "https://errors.example.com")
    assert dsns == {"api": f"https://{KEY}@errors.example.com/3"}


def test_a_dsn_for_another_host_is_refused():
    with pytest.raises(DsnError, match="not at https://errors.example.com"):
        dsns_from_output(report(api=f"http://{KEY}@localhost:8000/3"), ["api"], "https://errors.example.com")


def test_a_missing_project_or_report_is_an_error_naming_it():
    with pytest.raises(DsnError, match='no project "web"'):
        dsns_from_output(report(api=f"https://{KEY}@errors.example.com/3"), ["api", "web"], "https://errors.example.com")
    with pytest.raises(ValueError, match="without printing its report"):
        dsns_from_output("Traceback ...", ["api"], "https://errors.example.com")


def test_a_url_with_port_and_path_is_kept_in_the_dsn():
    dsn = f"http://{KEY}@10.0.0.5:8080/glitchtip/7"
    assert dsns_from_output(report(api=dsn), ["api"], "http://10.0.0.5:8080/glitchtip/") == {"api": dsn}


def test_env_file_targets_declare_one_secret_one_shot_container_per_target():
    deployment = deploy({"dsnTargets": [
        {"project": "api", "envFile": {"path": "/opt/api/.env"}},
        {"project": "web", "envFile": {"path": "/srv/web/app.env", "key": "GLITCHTIP_DSN"}},
    ]})
    containers = deployment.containers()
    api, web = containers["glitchtip-dsn-0-api"], containers["glitchtip-dsn-1-web"]
    assert api.inputs["volumes"] == [{"hostPath": "/opt/api", "containerPath": "/target"}]
    assert env_of(api)["DSN"] == deployment.outputs["dsns"]["api"]
    assert env_of(web)["TARGET_KEY"] == "GLITCHTIP_DSN" and env_of(web)["TARGET_FILE"] == "app.env"
    assert api.secret("envs")
    assert deployment.outputs["dsnDeliveries"] == {"0": "SENTRY_DSN in /opt/api/.env", "1": "GLITCHTIP_DSN in /srv/web/app.env"}


def test_a_failed_env_file_update_fails_the_deployment():
    with pytest.raises(Exception, match="DSN delivery to /opt/api/.env exited with code 1"):
        deploy({"dsnTargets": [{"project": "api", "envFile": {"path": "/opt/api/.env"}}]}, failing_task="api")


def run_script(directory: Path, dsn: str, key: str = "SENTRY_DSN"):
    env = {**os.environ, "TARGET_DIR": str(directory), "TARGET_FILE": ".env", "TARGET_PATH": "/opt/app/.env",
           "TARGET_KEY": key, "DSN": dsn}
    return subprocess.run(["sh", "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)


def test_the_env_file_script_replaces_the_key_keeps_other_lines_and_backs_up(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=3000\nSENTRY_DSN=https://old@sentry.io/1\nNODE_ENV=production\n")
    env_file.chmod(0o600)
    result = run_script(tmp_path, "http://abc@localhost:8080/1")
    assert env_file.read_text() == "PORT=3000\nSENTRY_DSN=http://abc@localhost:8080/1\nNODE_ENV=production\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    backups = list(tmp_path.glob(".env.bak.*"))
    assert len(backups) == 1 and "sentry.io" in backups[0].read_text()
    assert "http://abc@" not in result.stdout  # the DSN is not logged


def test_the_env_file_script_is_idempotent_and_appends_a_missing_key(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=3000\n")
    run_script(tmp_path, "http://abc@localhost:8080/1")
    run_script(tmp_path, "http://abc@localhost:8080/1")
    assert env_file.read_text() == "PORT=3000\nSENTRY_DSN=http://abc@localhost:8080/1\n"
    assert len(list(tmp_path.glob(".env.bak.*"))) == 1  # the unchanged second run made no backup


def test_the_env_file_script_creates_a_private_file_when_there_is_none(tmp_path):
    run_script(tmp_path, "http://abc@localhost:8080/1")
    env_file = tmp_path / ".env"
    assert env_file.read_text() == "SENTRY_DSN=http://abc@localhost:8080/1\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
