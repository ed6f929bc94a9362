"""What a stop step does when it runs (see tests/test_upgrade_stops_first.py for when it runs):
its script, run for real, on Docker against a stand-in `docker` CLI that models an engine's
containers (labels, running state, image IDs), on Kubernetes against a stand-in API server that
models Deployments, StatefulSets, their scale subresource and their pods going away.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.platforms.docker import stop as docker_stop
from components.platforms.kubernetes import stop as k8s_stop


# Docker: the script, against a model of the engine ------------------------------------------------

ENGINE = r'''#!/usr/bin/env python3
"""A docker CLI stand-in: containers from $ENGINE_STATE, every call appended to $ENGINE_LOG; calls
run one at a time (an engine serializes its own state; the script runs stops side by side)."""
import fcntl, json, os, sys
path, args = os.environ["ENGINE_STATE"], sys.argv[1:]
lock = open(path + ".lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
state = json.load(open(path))
with open(os.environ["ENGINE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if not state["up"]:
    sys.exit("Cannot connect to the Docker daemon at " + os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
if args[0] == "version":
    print("28.3.0")
elif args[0] == "ps":
    wanted = [a.split("=", 1)[1] for a in args if a.startswith("label=")]
    assert "--quiet" in args and "--no-trunc" in args and "-a" not in args
    for c in state["containers"]:
        if c["running"] and all(c["labels"].get(w.split("=", 1)[0]) == w.split("=", 1)[1] for w in wanted):
            print(c["id"])
elif args[:2] == ["container", "inspect"]:
    assert args[2:4] == ["--format", "{{.Image}}"]
    print(next(c["image"] for c in state["containers"] if c["id"] == args[4]))
elif args[0] == "stop":
    assert args[1] == "-t"
    for c in state["containers"]:
        if c["id"] in args[3:]:
            c["running"] = False
    json.dump(state, open(path, "w"))
else:
    sys.exit("unexpected: %r" % args)
'''
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def container(ident, component, image, instance="sentry", running=True):
    return {"id": ident, "image": image, "running": running,
            "labels": {"app.kubernetes.io/instance": instance, "app.kubernetes.io/component": component}}


@pytest.fixture
def engine(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(ENGINE.replace("#!/usr/bin/env python3", f"#!{sys.executable}"))
    (bin_dir / "docker").chmod(0o755)

    def run(containers, services, up=True, shell=("sh",)):
        (tmp_path / "state.json").write_text(json.dumps({"up": up, "containers": containers}))
        (tmp_path / "log").write_text("")
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "ENGINE_STATE": str(tmp_path / "state.json"),
               "ENGINE_LOG": str(tmp_path / "log"), "STOP_INSTANCE": "sentry",
               "STOP_SERVICES": " ".join(f"{name}={image}@{grace}" for name, image, grace in services)}
        result = subprocess.run([*shell, "-c", docker_stop.SCRIPT, "stop"], env=env, capture_output=True, text=True,
                                timeout=30)
        state = json.loads((tmp_path / "state.json").read_text())
        calls = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
        return result, {c["id"]: c["running"] for c in state["containers"]}, calls

    return run


SHELLS = [("sh",)] + ([("busybox", "sh")] if shutil.which("busybox") else [])
LISTED = [("web", NEW, 60), ("snuba-api", NEW, 60), ("taskworker", NEW, 60)]


@pytest.mark.parametrize("shell", SHELLS)
def test_an_upgrade_stops_exactly_the_listed_services_old_containers_replicas_included_with_their_drain(engine, shell):
    containers = [container("w1", "web", OLD), container("w2", "web", OLD), container("s1", "snuba-api", OLD),
                  container("t1", "taskworker", NEW),  # already the new image: left alone
                  container("p1", "postgres", OLD), container("n1", "nginx", OLD),  # not listed
                  container("o1", "web", OLD, instance="other-sentry")]  # another stack on this engine
    result, running, calls = engine(containers, LISTED, shell=shell)
    assert result.returncode == 0, result.stderr
    assert running == {"w1": False, "w2": False, "s1": False, "t1": True, "p1": True, "n1": True, "o1": True}
    stops = sorted(c for c in calls if c[0] == "stop")
    assert stops == [["stop", "-t", "60", "s1"], ["stop", "-t", "60", "w1", "w2"]]
    assert "stopping web (2 container(s), up to 60s to finish)" in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_a_first_install_and_an_unchanged_up_stop_nothing(engine, shell):
    result, _, calls = engine([], LISTED, shell=shell)  # nothing runs yet
    assert result.returncode == 0 and "nothing to stop" in result.stdout
    current = [container("w1", "web", NEW), container("s1", "snuba-api", NEW), container("t1", "taskworker", NEW)]
    result, running, calls = engine(current, LISTED, shell=shell)
    assert result.returncode == 0 and "nothing to stop" in result.stdout
    assert all(running.values()) and not [c for c in calls if c[0] == "stop"]


def test_an_engine_that_does_not_answer_fails_the_step_before_anything_is_stopped(engine):
    result, running, calls = engine([container("w1", "web", OLD)], LISTED, up=False)
    assert result.returncode != 0 and "Cannot connect to the Docker daemon" in result.stderr
    assert running == {"w1": True} and calls == [["version", "--format", "{{.Server.Version}}"]]


# Kubernetes: the script, against a model of the API server ----------------------------------------

class Cluster(ThreadingHTTPServer):
    """Workloads by (resource, name): replicas, images, selector; pods that go `linger` seconds
    after their workload is scaled to zero (their grace period), or never if linger is None."""

    def __init__(self, workloads, linger=0.3):
        super().__init__(("127.0.0.1", 0), _Api)
        self.workloads, self.linger, self.calls, self.gone_at = workloads, linger, [], {}


class _Api(BaseHTTPRequestHandler):
    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _call(self, method):
        server, url = self.server, urllib.parse.urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        server.calls.append((method, url.path, url.query, body, self.headers.get("Content-Type")))
        assert self.headers["Authorization"] == "Bearer token-1"
        parts = url.path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            selector = urllib.parse.parse_qs(url.query)["labelSelector"][0]
            items = [{"status": {"phase": "Running"}} for (_, name), w in server.workloads.items()
                     if w["selector"] == selector and not self._gone(name)
                     for _ in range(w["pods"])]
            return self._reply(200, {"items": items})
        resource, name = parts[5], parts[6]
        workload = server.workloads.get((resource, name))
        if workload is None:
            return self._reply(404, {"kind": "Status", "code": 404})
        if method == "PATCH":
            assert parts[7:] == ["scale"] and self.headers["Content-Type"] == "application/merge-patch+json"
            workload["replicas"] = body["spec"]["replicas"]
            if workload["replicas"] == 0:
                server.gone_at[name] = None if server.linger is None else time.monotonic() + server.linger
            return self._reply(200, {})
        labels = dict(p.split("=") for p in workload["selector"].split(","))
        return self._reply(200, {"spec": {"replicas": workload["replicas"], "selector": {"matchLabels": labels},
                                          "template": {"spec": {"containers": [
                                              {"name": name, "image": workload["image"]}]}}}})

    def _gone(self, name):
        if name not in self.server.gone_at:
            return False
        at = self.server.gone_at[name]
        return at is not None and time.monotonic() >= at

    def do_GET(self):
        self._call("GET")

    def do_PATCH(self):
        self._call("PATCH")

    def log_message(self, *args):
        pass


def workload(name, image, replicas=1, pods=1):
    return {"image": image, "replicas": replicas, "pods": pods,
            "selector": f"app.kubernetes.io/component={name},app.kubernetes.io/instance=sentry"}


def run_k8s(tmp_path, cluster, targets, mode="stop", wait=20):
    account = tmp_path / "sa"
    account.mkdir(exist_ok=True)
    (account / "namespace").write_text("sentry\n")
    (account / "token").write_text("token-1\n")
    threading.Thread(target=cluster.serve_forever, daemon=True).start()
    env = {**os.environ, "SERVICE_ACCOUNT_DIR": str(account),
           "KUBERNETES_API": f"http://127.0.0.1:{cluster.server_port}",
           "STOP_TARGETS": json.dumps(targets), "STOP_WAIT_SECONDS": str(wait), "FIELD_MANAGER": k8s_stop.FIELD_MANAGER}
    try:
        return subprocess.run([sys.executable, "-c", k8s_stop.SCRIPT, mode], env=env, capture_output=True, text=True,
                              timeout=60)
    finally:
        cluster.shutdown()
        cluster.server_close()


def target(name, image, resource="deployments", **extra):
    return {"resource": resource, "name": name, "images": {name: image}, **extra}


OLD_IMAGE, NEW_IMAGE = "ghcr.io/getsentry/sentry:26.7.0", "ghcr.io/getsentry/sentry:26.8.0"


def test_the_job_scales_the_old_ones_to_zero_and_waits_until_their_pods_are_gone(tmp_path):
    cluster = Cluster({("deployments", "web"): workload("web", OLD_IMAGE, replicas=2, pods=2),
                       ("deployments", "snuba-api"): workload("snuba-api", "ghcr.io/getsentry/snuba:26.8.0"),
                       ("statefulsets", "taskbroker"): workload("taskbroker", "ghcr.io/getsentry/taskbroker:26.7.0")})
    targets = [target("web", NEW_IMAGE), target("snuba-api", "ghcr.io/getsentry/snuba:26.8.0"),
               target("taskbroker", "ghcr.io/getsentry/taskbroker:26.8.0", "statefulsets"),
               target("events-consumer", NEW_IMAGE)]  # new in this version: not deployed yet
    started = time.monotonic()
    result = run_k8s(tmp_path, cluster, targets)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 0.3  # it waited for the pods' grace, not just the patch
    patches = [(path, query, body) for method, path, query, body, _ in cluster.calls if method == "PATCH"]
    assert patches == [
        ("/apis/apps/v1/namespaces/sentry/deployments/web/scale", f"fieldManager={k8s_stop.FIELD_MANAGER}",
         {"spec": {"replicas": 0}}),
        ("/apis/apps/v1/namespaces/sentry/statefulsets/taskbroker/scale", f"fieldManager={k8s_stop.FIELD_MANAGER}",
         {"spec": {"replicas": 0}}),
    ]
    assert cluster.workloads[("deployments", "snuba-api")]["replicas"] == 1
    assert "events-consumer: not deployed yet" in result.stdout and "web: stopped" in result.stdout


def test_a_first_install_and_an_unchanged_cluster_stop_nothing(tmp_path):
    result = run_k8s(tmp_path, Cluster({}), [target("web", NEW_IMAGE)])
    assert result.returncode == 0 and "web: not deployed yet" in result.stdout
    cluster = Cluster({("deployments", "web"): workload("web", NEW_IMAGE)})
    result = run_k8s(tmp_path, cluster, [target("web", NEW_IMAGE)])
    assert result.returncode == 0 and not [c for c in cluster.calls if c[0] == "PATCH"]


def test_pods_that_do_not_go_fail_the_job_with_their_names(tmp_path):
    cluster = Cluster({("deployments", "web"): workload("web", OLD_IMAGE)}, linger=None)
    result = run_k8s(tmp_path, cluster, [target("web", NEW_IMAGE)], wait=1)
    assert result.returncode != 0 and "still running after 1s: web" in result.stderr


def test_resume_brings_an_autoscaled_deployment_at_zero_back_to_its_minimum_and_leaves_the_rest(tmp_path):
    cluster = Cluster({("deployments", "web"): workload("web", NEW_IMAGE, replicas=0),
                       ("deployments", "events-consumer"): workload("events-consumer", NEW_IMAGE, replicas=3)})
    result = run_k8s(tmp_path, cluster, [target("web", NEW_IMAGE, replicas=2),
                                         target("events-consumer", NEW_IMAGE, replicas=2)], mode="resume")
    assert result.returncode == 0, result.stderr
    assert cluster.workloads[("deployments", "web")]["replicas"] == 2
    assert cluster.workloads[("deployments", "events-consumer")]["replicas"] == 3
