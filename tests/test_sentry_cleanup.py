"""`sentry cleanup` that is noticed: on Docker its loop records each run and the watchdog reads
the record; on Kubernetes it is a CronJob the watchdog follows. The loop runs for real under sh
(with `sentry` and `sleep` stood in), and the watchdog's own checks judge what it left."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest

from components.apps.sentry import catalog, operations
from components.operations.watchdog import __main__ as program
from components.operations.watchdog.checks import docker_checks
from components.operations.watchdog.config import Config, from_environment
from components.operations.watchdog.kubernetes import kubernetes_checks
from tests.harness import deploy, env_of
from tests.k8s_helpers import containers, pod_spec

ALERTS = {"alerts": {"webhook": {"url": "https://hooks.example.com/x"}}}
DOCKER = {"app": "sentry", **ALERTS}
KUBERNETES = {"app": "sentry", "platform": "kubernetes", **ALERTS, "sentry": {"internalNetworks": ["10.1.0.0/16"]},
              "kubernetes": {"namespace": "sentry", "ingress": {"controllerNamespace": "ingress-nginx"}}}
HOUR = 3600

# `sentry` fails on its first call and succeeds after; `sleep` waits until the test drops a `go`
# file (one token per iteration), so the test decides when the next nightly run happens.
FAKE_SENTRY = """#!/bin/sh
count=$(($(cat "$STUB_DIR/calls" 2>/dev/null || echo 0) + 1))
echo "$count" > "$STUB_DIR/calls"
echo "$*" >> "$STUB_DIR/arguments"
if [ "$count" = 1 ]; then echo "Deleting nodestore"; echo "psycopg2.OperationalError: server closed the connection"; exit 3; fi
echo "Deleted 12 events"
"""
FAKE_SLEEP = """#!/bin/sh
while [ ! -e "$STUB_DIR/go" ]; do /bin/sleep 0.02; done
rm -f "$STUB_DIR/go"
"""


def shells() -> list[str]:
    found = [s for s in ("sh", "busybox") if shutil.which(s)]
    return found or pytest.skip("no POSIX shell")


def wait_for(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def loop(tmp_path, request):
    """The Docker service's command, its status directory moved into tmp_path."""
    stubs, status = tmp_path / "bin", tmp_path / "status"
    stubs.mkdir()
    status.mkdir()
    for name, text in (("sentry", FAKE_SENTRY), ("sleep", FAKE_SLEEP)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    service = deploy(DOCKER, secret_keys=("alerts",)).containers()["sentry-sentry-cleanup"].inputs
    entrypoint, flag, script = service["command"]
    assert (entrypoint, flag) == ("/bin/sh", "-c")
    script = script.replace(catalog.CLEANUP_STATUS_DIR, str(status))
    return script, stubs, status


@pytest.mark.parametrize("shell", shells())
def test_a_failed_run_is_recorded_with_its_reason_and_a_later_success_clears_it(loop, shell):
    script, stubs, status = loop
    argv = [shell, "-c", script] if shell == "sh" else ["busybox", "sh", "-c", script]
    env = {"PATH": f"{stubs}:{os.environ['PATH']}", "STUB_DIR": str(stubs)}
    log = stubs / "stderr"
    with open(log, "w") as stderr_file:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr_file,
                                   start_new_session=True)
    try:
        # Never succeeded on this host: it runs at start, and that run fails.
        failed = status / ".last-sentry-cleanup-failed"
        wait_for(failed.exists, "the failure record")
        record = failed.read_text()
        assert record.startswith("sentry cleanup exited 3 (started 20")
        assert record.rstrip().endswith("psycopg2.OperationalError: server closed the connection")
        verdict = _judge(status, time.time())
        assert not verdict.ok and "last sentry-cleanup failed: sentry cleanup exited 3" in verdict.detail
        # The next night's run succeeds.
        (stubs / "go").touch()
        ok = status / ".last-sentry-cleanup-ok"
        wait_for(ok.exists, "the success record")
        assert _judge(status, time.time()).ok
        assert (stubs / "arguments").read_text().splitlines() == ["cleanup --days 90"] * 2
    finally:
        process.terminate()
        process.wait(timeout=10)
        # The sleep it was waiting on, as Docker stops the container; none when TERM came between two commands.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0  # the TERM trap stops it at once, cleanly
    assert "sentry cleanup failed; recorded for the watchdog, retrying tomorrow" in log.read_text()


def test_a_missed_cleanup_alerts_once_it_is_a_day_and_a_half_old(tmp_path):
    (tmp_path / ".last-sentry-cleanup-ok").write_text("sentry cleanup --days 90 started ... finished ...\n")
    now = time.time()
    assert _judge(tmp_path, now + 35 * HOUR).ok
    late = _judge(tmp_path, now + 37 * HOUR)
    assert not late.ok and "last successful sentry-cleanup is 37.0 h old (limit 36 h)" in late.detail


def test_the_docker_watchdog_reads_the_volume_the_loop_writes():
    containers_ = deploy(DOCKER, secret_keys=("alerts",)).containers()
    cleanup, watchdog = containers_["sentry-sentry-cleanup"].inputs, containers_["sentry-watchdog"].inputs
    (written,) = [v for v in cleanup["volumes"] if v.get("containerPath") == catalog.CLEANUP_STATUS_DIR]
    (read,) = [v for v in watchdog["volumes"] if v.get("containerPath") == catalog.CLEANUP_STATUS_DIR]
    assert written["volumeName"] == read["volumeName"] == "sentry-sentry-cleanup-status"
    assert read["readOnly"] and not written.get("readOnly")
    config = from_environment(env_of(containers_["sentry-watchdog"]))
    assert config.results["sentry-cleanup"] == operations.CLEANUP_MAX_AGE_HOURS == 36
    assert config.result_dirs["sentry-cleanup"] == catalog.CLEANUP_STATUS_DIR
    # The loop runs as Sentry's user: the volume is handed to it before it starts.
    owner = containers_["sentry-volume-owner-sentry-cleanup-status"].inputs
    assert owner["command"] == ["chown", "999:999", "/volume"]


def test_the_watchdog_follows_the_cleanup_without_backups_too():
    containers_ = deploy({**DOCKER, "backup": {"enabled": False}}, secret_keys=("alerts",)).containers()
    config = from_environment(env_of(containers_["sentry-watchdog"]))
    assert config.results == {"sentry-cleanup": 36} and config.backup_dir is None


def test_on_kubernetes_cleanup_is_a_daily_cronjob_the_watchdog_may_read():
    deployment = deploy(KUBERNETES, secret_keys=("alerts",))
    cronjob = deployment.one("CronJob", "sentry-cleanup")
    assert cronjob.inputs["spec"]["schedule"] == "0 0 * * *" and cronjob.inputs["spec"]["timeZone"] == "Etc/UTC"
    (container,) = containers(cronjob)
    assert container["image"] == "ghcr.io/getsentry/sentry:26.8.0"
    assert container["args"] == ["sentry", "cleanup", "--days", "90"]
    assert container["resources"]["requests"]["memory"] == "200Mi"
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/data", "/etc/sentry/sentry.conf.py"}
    assert catalog.CLEANUP_STATUS_DIR not in {m["mountPath"] for m in container["volumeMounts"]}
    assert not [d for d in deployment.of_kind("Deployment") if d.object_name == "sentry-cleanup"]
    (watchdog,) = containers(deployment.one("CronJob", "watchdog"))
    env = _configmap_env(deployment, watchdog)
    config = from_environment(env)
    assert config.cronjobs["sentry-cleanup"] == ("sentry-cleanup", 36)
    (role,) = [r for r in deployment.of_kind("Role") if r.object_name == "watchdog-api"]
    assert any("sentry-cleanup" in rule.get("resourceNames", []) and rule["resources"] == ["cronjobs"]
               for rule in role.inputs["rules"])
    assert pod_spec(cronjob)["restartPolicy"] == "Never"


def test_a_failed_cleanup_cronjob_alerts_through_the_watchdog(monkeypatch):
    config = Config(mode="kubernetes", site="https://sentry.example.com", fail_after=1,
                    cronjobs={"sentry-cleanup": ("sentry-cleanup", 36)})
    failed = {"metadata": {"creationTimestamp": _iso(-72)},
              "status": {"lastScheduleTime": _iso(-2), "lastSuccessfulTime": _iso(-26)}}

    class Api:
        def namespaced(self, group_version, kind, name):
            return f"{group_version}/{kind}/{name}"

        def request(self, method, path):
            assert path == "batch/v1/cronjobs/sentry-cleanup"
            return failed

    class Store:
        data: dict = {}

        def load(self):
            return self.data

        def save(self, data):
            self.data = data

    sent = []
    monkeypatch.setattr(Config, "targets", lambda self: {"webhook": sent.append})
    program.one_pass(config, lambda now: kubernetes_checks(config, Api(), now), Store(), time.time())
    assert sent and sent[0].startswith("[https://sentry.example.com] FAILING: sentry-cleanup: cronjob sentry-cleanup: "
                                       "the run scheduled at")


def _judge(directory, now):
    config = Config(mode="docker", site="s", results={"sentry-cleanup": 36},
                    result_dirs={"sentry-cleanup": str(directory)})
    return docker_checks(config, now)["sentry-cleanup"]


def _iso(hours: float) -> str:
    return datetime.fromtimestamp(time.time() + hours * HOUR, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _configmap_env(deployment, container) -> dict:
    """The container's environment from its ConfigMap and Secret (a secret alert target seals it)."""
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(deployment.one("ConfigMap", source["configMapRef"]["name"]).inputs["data"])
        if "secretRef" in source:
            env.update(deployment.one("Secret", source["secretRef"]["name"]).inputs.get("stringData") or {})
    return env
