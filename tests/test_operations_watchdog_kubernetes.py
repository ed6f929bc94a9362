"""The watchdog's Kubernetes mode: reading Deployment and CronJob status, and keeping its state in a
ConfigMap, against a local HTTP server that answers like the API server."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.operations.watchdog import passes
from components.operations.watchdog.config import Config
from components.operations.watchdog.kubernetes import (
    ApiError,
    ConfigMapState,
    KubernetesApi,
    cronjob_result,
    deployment_ready,
    kubernetes_checks,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc).timestamp()


def iso(hours_ago: float) -> str:
    return datetime.fromtimestamp(NOW - hours_ago * 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_deployment_is_ready_with_at_least_one_ready_replica():
    assert deployment_ready({"spec": {"replicas": 2}, "status": {"readyReplicas": 1}}, "worker").ok
    down = deployment_ready({"spec": {"replicas": 2}, "status": {}}, "worker")
    assert not down.ok and down.detail == "deployment worker: 0/2 replicas ready"


def test_a_cronjob_whose_latest_run_failed_is_failing():
    status = {"lastScheduleTime": iso(9), "lastSuccessfulTime": iso(33)}
    result = cronjob_result({"status": status}, "backup", 26, NOW)
    assert not result.ok and "failed" in result.detail


def test_a_cronjob_still_running_its_latest_run_is_judged_by_its_last_success():
    status = {"lastScheduleTime": iso(0.1), "lastSuccessfulTime": iso(23.9), "active": [{"name": "backup-1"}]}
    assert cronjob_result({"status": status}, "backup", 26, NOW).ok


def test_a_cronjob_without_a_recent_success_is_failing_and_a_new_one_is_not_due():
    assert not cronjob_result({"status": {"lastSuccessfulTime": iso(30), "lastScheduleTime": iso(30.1)}},
                              "backup", 26, NOW).ok
    new = {"metadata": {"creationTimestamp": iso(2)}, "status": {}}
    assert cronjob_result(new, "drill", 840, NOW).ok
    forgotten = {"metadata": {"creationTimestamp": iso(900)}, "status": {}}
    assert not cronjob_result(forgotten, "drill", 840, NOW).ok


class ApiServer(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_GET(self):
        self.server.seen.append(("GET", self.path, self.headers["Authorization"]))
        if self.path in self.server.objects:
            self._answer(200, self.server.objects[self.path])
        else:
            self._answer(403, {"kind": "Status", "reason": "Forbidden"})

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append(("PATCH", self.path, self.headers["Content-Type"], body))
        self.server.objects[self.path]["data"] = body["data"]
        self._answer(200, self.server.objects[self.path])

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ApiServer)
    server.seen = []
    ns = "/namespaces/errors"
    server.objects = {
        f"/api/v1{ns}/configmaps/watchdog-state": {"data": {}},
        f"/apis/apps/v1{ns}/deployments/worker": {"spec": {"replicas": 1}, "status": {"readyReplicas": 1}},
        f"/apis/batch/v1{ns}/cronjobs/backup": {"status": {"lastScheduleTime": iso(3), "lastSuccessfulTime": iso(2.9)}},
    }
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server, KubernetesApi(f"http://127.0.0.1:{server.server_address[1]}", "pod-token", "errors", None)
    server.shutdown()


def test_checks_read_the_named_objects_with_the_pods_token(api):
    server, client = api
    config = Config(mode="kubernetes", site="s", worker_deployment="worker",
                    cronjobs={"backup": ("backup", 26), "drill": ("drill", 840)})
    results = kubernetes_checks(config, client, NOW)
    assert results["worker"].ok and results["backup"].ok
    # No Role rule for it (or no such object): a failing check that says why, not a crash.
    assert not results["drill"].ok and "HTTP 403" in results["drill"].detail
    assert all(seen[2] == "Bearer pod-token" for seen in server.seen)


def test_state_is_kept_in_the_configmap_with_a_merge_patch(api):
    server, client = api
    store = ConfigMapState(client, "watchdog-state")
    assert store.load() == {}
    store.save({"web": {"failing": True}})
    method, path, content_type, body = server.seen[-1]
    assert (method, path, content_type) == (
        "PATCH", "/api/v1/namespaces/errors/configmaps/watchdog-state", "application/merge-patch+json")
    assert json.loads(body["data"]["state"]) == {"web": {"failing": True}}
    assert store.load() == {"web": {"failing": True}}


def test_a_pass_in_kubernetes_mode_alerts_once_across_cronjob_runs(api, monkeypatch):
    server, client = api
    server.objects["/apis/apps/v1/namespaces/errors/deployments/worker"]["status"] = {}
    config = Config(mode="kubernetes", site="s", worker_deployment="worker", fail_after=2)
    sent = []
    monkeypatch.setattr(Config, "targets", lambda self: {"webhook": sent.append})
    for _ in range(3):  # each CronJob run is a new process with a new store
        passes.one_pass(config, lambda now: kubernetes_checks(config, client, now),
                         ConfigMapState(client, "watchdog-state"), NOW)
    assert sent == ["[s] FAILING: worker: deployment worker: 0/1 replicas ready"]


def test_in_cluster_reads_the_service_account_files(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no CA certificate to load")
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "namespace").write_text("errors\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(tmp_path / "key"), "-out", str(tmp_path / "ca.crt"), "-days", "1", "-subj", "/CN=ca"],
                   check=True, capture_output=True)
    with pytest.raises(ApiError, match="KUBERNETES_SERVICE_HOST"):
        KubernetesApi.in_cluster({}, str(tmp_path))
    client = KubernetesApi.in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"},
                                      str(tmp_path))
    assert (client.base_url, client.namespace) == ("https://[fd00::1]:6443", "errors")
    assert client.namespaced("batch/v1", "cronjobs", "drill") == "/apis/batch/v1/namespaces/errors/cronjobs/drill"
