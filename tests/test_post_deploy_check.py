"""The post-deploy check: declared only when asked, where the tracker is reachable, with its own
project's DSN kept secret and out of every output; and its script, run for real against a small
HTTP server standing in for the tracker (health endpoint + envelope endpoint)."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
import uuid

import pytest

from components import deploy_check
from components.configuration import load
from components.validation import ConfigError
from tests.harness import BASE_CONFIG, deploy, env_of
from tests.secret_values import plain_strings

ON = {"postDeployCheck": {"enabled": True}}
CHECK = deploy_check.PROJECT_NAME
# What the mocked bootstrap report gives the check project (it is the third project).
CHECK_KEY = uuid.uuid5(uuid.NAMESPACE_URL, CHECK).hex
CHECK_DSN = f"https://{CHECK_KEY}@errors.example.com/3"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


# Each variant is deployed once; some carry two settings to keep the suite fast (each test says
# which one it reads).
VARIANTS = {
    "off": {},
    "local": ON,
    "local-again": ON,
    # An ssh:// engine, and a newer GlitchTip than the others.
    "ssh-newer": {**ON, "docker": {"host": "ssh://deploy@vps.example.com:2222", "sshHostKey": HOST_KEY},
                  "glitchtip": {"version": "6.2.5"}},
    "tcp": {**ON, "docker": {"host": "tcp://10.0.0.5:2376"}},
}


@functools.lru_cache(maxsize=None)
def deployed(variant: str):
    # "local-again" is the same configuration run a second time: not the session's cached run.
    return deploy(VARIANTS[variant], fresh=variant == "local-again")


def commands(deployment):
    return [d for d in deployment.declared if d.typ.startswith("command:")]


def the_check(deployment):
    (found,) = commands(deployment)
    return found


@pytest.fixture(scope="module")
def local():
    return deployed("local")


def test_the_check_is_declared_only_when_enabled(local):
    off = deployed("off")
    assert commands(off) == [] and "postDeployCheck" not in off.outputs
    assert CHECK not in env_of(off.containers()["glitchtip-bootstrap"])["BOOTSTRAP_PROJECTS"]
    assert the_check(local).typ == "command:local:Command"
    assert local.outputs["postDeployCheck"].startswith("passed: http://127.0.0.1:8000/_health/")


def test_on_a_local_engine_it_runs_here_against_the_published_port_after_web(local):
    check = the_check(local)
    create = check.inputs["create"]
    assert "CHECK_BASE_URL=http://127.0.0.1:8000" in create and "CHECK_HEALTH_PATH=/_health/" in create
    assert "CHECK_TIMEOUT_SECONDS=300" in create
    assert [d.name for d in local.depends_on(check) if d.name == "glitchtip-docker-web"] == ["glitchtip-docker-web"]


def test_on_an_ssh_docker_host_it_runs_on_that_host_over_ssh():
    check = the_check(deployed("ssh-newer"))
    assert check.typ == "command:remote:Command"
    connection = check.inputs["connection"]
    assert (connection["host"], connection["user"], connection["port"]) == ("vps.example.com", "deploy", 2222)
    assert connection["hostKey"] == HOST_KEY and "privateKey" not in connection and "password" not in connection
    assert "CHECK_BASE_URL=http://127.0.0.1:8000" in check.inputs["create"]


def test_on_a_tcp_engine_it_runs_in_a_container_on_the_app_network():
    deployment = deployed("tcp")
    assert commands(deployment) == []
    check = deployment.containers()["glitchtip-post-deploy-check"]
    env = env_of(check)
    assert env["CHECK_BASE_URL"] == "http://web:8000" and env["CHECK_DSN"] == CHECK_DSN
    assert check.secret("envs") and "envs" in check.options["additional_secret_outputs"]
    assert check.inputs["networksAdvanced"] == [{"name": "glitchtip"}] and check.inputs["user"] == "65534"
    images = {d.inputs["name"] for d in deployment.of_type("docker:index/remoteImage:RemoteImage")}
    assert deploy_check.IMAGE in images


def test_the_check_dsn_reaches_the_command_only_as_secret_stdin(local):
    check = the_check(local)
    assert check.secret("stdin") and check.inputs["stdin"] == CHECK_DSN
    assert check.options["additional_secret_outputs"] == ["stdout", "stderr"]
    assert check.inputs["logging"] == "stderr"
    assert [d.name for d in local.declared if any(CHECK_KEY in s for s in plain_strings(d.raw))] == []


def test_the_check_runs_again_when_the_version_changes_and_not_on_an_identical_run(local):
    again = the_check(deployed("local-again")).inputs
    assert again == the_check(local).inputs
    newer = the_check(deployed("ssh-newer")).inputs
    assert newer["triggers"] != again["triggers"] and "6.2.5" in newer["triggers"]
    assert [t for t in newer["triggers"] if t not in again["triggers"]] == ["6.2.5"]


def test_the_check_project_is_bootstrapped_but_never_exported_or_delivered(local):
    projects = json.loads(env_of(local.containers()["glitchtip-bootstrap"])["BOOTSTRAP_PROJECTS"])
    assert {"name": CHECK, "platform": "other"} in projects
    assert set(local.outputs["dsns"]) == {"api", "web"} and local.outputs["projects"] == ["api", "web"]
    with pytest.raises(ConfigError, match=r"error-tracking:dsnTargets\[0\]\.project: must name a configured project"):
        load({**BASE_CONFIG, **ON, "dsnTargets": [{"project": CHECK, "envFile": {"path": "/opt/x/.env"}}]})


def test_a_user_project_named_like_the_check_project_is_refused_by_name():
    projects = [{"name": "api"}, {"name": "Error-Tracking-Check"}]
    with pytest.raises(ConfigError, match=r"error-tracking:projects\[1\]\.name: \"Error-Tracking-Check\" is reserved"):
        load({**BASE_CONFIG, "projects": projects})


@pytest.mark.parametrize("overrides, expected", [
    ({"postDeployCheck": {"enabled": "yes"}}, "error-tracking:postDeployCheck.enabled: must be true or false"),
    ({"postDeployCheck": {"timeoutSeconds": 5}}, "error-tracking:postDeployCheck.timeoutSeconds: must be a whole"),
    ({"postDeployCheck": {"timeout": 60}}, "error-tracking:postDeployCheck.timeout: unknown setting"),
    ({"docker": {"sshHostKey": HOST_KEY}}, "error-tracking:docker.sshHostKey: pins the key of an ssh:// host"),
    ({"docker": {"host": "ssh://h", "sshHostKey": "AAAA"}}, "error-tracking:docker.sshHostKey: must be the host's"),
])
def test_bad_check_settings_are_refused_by_name(overrides, expected):
    with pytest.raises(ConfigError) as refused:
        load({**BASE_CONFIG, **overrides})
    assert any(p.startswith(expected) for p in refused.value.problems), refused.value.problems


# --- the script, for real -------------------------------------------------------------------

class Tracker(http.server.BaseHTTPRequestHandler):
    """Answers like GlitchTip: /_health/ (unless `healthy` is off) and the envelope endpoint,
    which accepts only the key in `accepted`; records what it received."""

    healthy = True
    accepted = CHECK_KEY
    received: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200 if self.healthy and self.path == "/_health/" else 503)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("X-Sentry-Auth", "")
        Tracker.received.append((self.path, auth, body))
        ok = f"sentry_key={self.accepted}" in auth and self.path == "/api/3/envelope/"
        self.send_response(200 if ok else 403)
        self.end_headers()
        # A refusal that echoes the key it got: the script must not print it.
        self.wfile.write(b'{"id":"1"}' if ok else f'{{"detail":"Invalid DSN {CHECK_KEY}"}}'.encode())


@pytest.fixture
def tracker():
    Tracker.healthy, Tracker.accepted, Tracker.received = True, CHECK_KEY, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run_check(port: int, dsn: str = CHECK_DSN, timeout: int = 2):
    env = {**deploy_check.environment(f"http://127.0.0.1:{port}", "/_health/", timeout),
           "CHECK_INTERVAL_SECONDS": "0.1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["sh", "-c", deploy_check.SCRIPT], input=dsn, env=env, capture_output=True, text=True,
                          timeout=timeout + 10)


def test_the_declared_local_command_passes_against_a_healthy_tracker(tracker):
    # Published on every interface: the check reaches it on the loopback address.
    create = the_check(deploy({**ON, "docker": {"port": tracker, "bindAddress": "0.0.0.0"}})).inputs["create"]
    assert f"CHECK_BASE_URL=http://127.0.0.1:{tracker}" in create
    result = subprocess.run(["sh", "-c", create], input=CHECK_DSN, capture_output=True, text=True, timeout=15)
    assert result.returncode == 0, result.stderr
    assert "accepted the check event (HTTP 200)" in result.stdout
    ((path, auth, body),) = Tracker.received
    header, item, event = (json.loads(line) for line in body.decode().splitlines())
    assert path == "/api/3/envelope/" and auth.startswith("Sentry sentry_version=7,")
    assert item == {"type": "event"} and event["event_id"] == header["event_id"]
    assert CHECK_KEY not in result.stdout + result.stderr


def test_a_refused_envelope_fails_at_once_with_the_status_and_without_the_key(tracker):
    Tracker.accepted = "f" * 32
    result = run_check(tracker, timeout=3)
    assert result.returncode == 1
    assert "refused the check event with HTTP 403" in result.stderr
    assert CHECK_KEY not in result.stdout + result.stderr and "<key>" in result.stderr
    assert len(Tracker.received) == 1  # not retried until the timeout


def test_a_health_endpoint_that_never_answers_fails_after_the_timeout(tracker):
    Tracker.healthy = False
    result = run_check(tracker, timeout=1)
    assert result.returncode == 1 and Tracker.received == []
    assert f"http://127.0.0.1:{tracker}/_health/ did not answer 2xx within 1s" in result.stderr


def test_a_dsn_that_is_not_one_fails_without_echoing_it(tracker):
    result = run_check(tracker, dsn="https://not-a-key@errors.example.com/x")
    assert result.returncode == 1 and "not-a-key" not in result.stderr
    assert "is not of the form scheme://<32 hex key>@host/<project id>" in result.stderr
