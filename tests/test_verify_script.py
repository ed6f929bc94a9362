"""The on-host verification script checks what the README says it checks, sends events the way a Sentry
SDK does, and never prints a key."""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scripts.verify_docker_host import masked, store_request

DSN = "https://0123456789abcdef0123456789abcdef@errors.example.com/7"


def test_store_url_and_auth_header_follow_the_dsn():
    url, headers = store_request(DSN)
    assert url == "https://errors.example.com/api/7/store/"
    assert "sentry_key=0123456789abcdef0123456789abcdef" in headers["X-Sentry-Auth"]


def test_a_base_url_reaches_the_same_project_through_a_tunnel():
    url, _ = store_request("http://0123456789abcdef0123456789abcdef@localhost:8080/sub/3", "http://127.0.0.1:18080")
    assert url == "http://127.0.0.1:18080/sub/api/3/store/"


def test_masked_dsn_hides_the_key():
    assert "0123456789abcdef0123456789abcdef" not in masked(DSN)


# --- the script itself, against stand-ins for the pulumi and docker CLIs and a live HTTP server ---

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"api": "0123456789abcdef0123456789abcdef", "web": "fedcba9876543210fedcba9876543210"}
# `pulumi stack output --json --show-secrets --stack <s>` and `docker ps` / `docker inspect`, as
# the real CLIs print them; each stand-in refuses any other call.
FAKE_PULUMI = """#!/bin/sh
[ "$*" = "stack output --json --show-secrets --stack dev" ] || { echo "unexpected: pulumi $*" >&2; exit 2; }
cat "$FAKE_DIR/outputs.json"
"""
FAKE_DOCKER = """#!/bin/sh
case "$*" in
  "ps -a --filter label=app.kubernetes.io/name=glitchtip --format {{.Names}}") ls "$FAKE_DIR/containers" ;;
  "inspect --format {{json .State}} "*) cat "$FAKE_DIR/containers/$4" ;;
  *) echo "unexpected: docker $*" >&2; exit 2 ;;
esac
"""


class Tracker(http.server.BaseHTTPRequestHandler):
    """GlitchTip as the script meets it: /_health/ and each project's store endpoint."""

    health = 200
    refused: set = set()
    events: list = []

    def do_GET(self):
        self.send_response(self.health if self.path == "/_health/" else 404)
        self.end_headers()

    def do_POST(self):
        project = self.path.split("/")[2]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).events.append((project, self.headers["X-Sentry-Auth"], body))
        self.send_response(403 if project in self.refused else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def host(tmp_path):
    """A tracker listening here, and the CLIs' stand-ins on PATH; returns (run, its state)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("T", (Tracker,), {"events": [], "refused": set()}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    for name, text in (("pulumi", FAKE_PULUMI), ("docker", FAKE_DOCKER)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "containers").mkdir()
    containers = {"glitchtip-web": {"Status": "running", "Health": {"Status": "healthy"}},
                  "glitchtip-worker": {"Status": "running", "Health": {"Status": "healthy"}},
                  "glitchtip-migrate": {"Status": "exited", "ExitCode": 0}}
    for name, state in containers.items():
        (tmp_path / "containers" / name).write_text(json.dumps(state))
    dsns = {p: f"http://{key}@errors.example.com:8000/{i + 1}" for i, (p, key) in enumerate(KEYS.items())}
    (tmp_path / "outputs.json").write_text(json.dumps({"url": "http://errors.example.com:8000", "dsns": dsns}))

    def run():
        env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "FAKE_DIR": str(tmp_path)}
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_docker_host.py"), "--stack", "dev",
                               "--base-url", base], env=env, capture_output=True, text=True, timeout=60)

    yield run, server.RequestHandlerClass, tmp_path
    server.shutdown()


def test_a_healthy_host_passes_with_one_event_per_project_and_no_key_printed(host):
    run, tracker, _ = host
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p for p, _, _ in tracker.events) == ["1", "2"]
    for (project, auth, event), key in zip(sorted(tracker.events), KEYS.values()):
        assert f"sentry_key={key}" in auth and event["level"] == "error"
    assert not any(key in result.stdout + result.stderr for key in KEYS.values())
    assert "/_health/ -> 200" in result.stdout


@pytest.mark.parametrize("name, state, expected", [
    ("glitchtip-worker", {"Status": "running", "Health": {"Status": "unhealthy"}},
     "FAIL container glitchtip-worker: unhealthy"),
    ("glitchtip-migrate", {"Status": "exited", "ExitCode": 1}, "FAIL container glitchtip-migrate: exited 1"),
])
def test_an_unhealthy_container_or_a_failed_one_shot_fails_the_verification(host, name, state, expected):
    run, _, directory = host
    (directory / "containers" / name).write_text(json.dumps(state))
    result = run()
    assert result.returncode == 1 and expected in result.stdout


def test_a_health_endpoint_that_fails_is_reported_and_fails_without_a_traceback(host):
    run, tracker, _ = host
    tracker.health = 503
    result = run()
    assert result.returncode == 1 and "FAIL" in result.stdout and "/_health/" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_refused_event_fails_after_every_project_was_tried(host):
    run, tracker, _ = host
    tracker.refused = {"1"}
    result = run()
    assert result.returncode == 1
    assert "FAIL event to api" in result.stdout and "ok   event sent to web" in result.stdout
    assert not any(key in result.stdout for key in KEYS.values())
