"""A real `pulumi up` of the dev stack's configuration on a Docker engine, through the Automation API.

What the mocks cannot prove: the engine accepts Pulumi.yaml and the policy pack, the tracker answers,
an event sent with sentry-sdk to an output DSN arrives, a second `up` changes nothing, and `destroy`
leaves nothing behind but the volumes the program retains. State goes to a file backend in a temporary
directory, on a throwaway stack whose containers, network and volumes carry their own name prefix and
whose port is a free one on 127.0.0.1, so a real dev deployment on the same engine is left alone.

Needs the Pulumi CLI (3.186+), a Docker engine that `docker info` reaches, sentry-sdk, and
ERROR_TRACKING_UP_TEST=1 (it pulls images and takes minutes). Skipped, with the reason, otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPT_IN = "ERROR_TRACKING_UP_TEST"


def missing_prerequisite() -> Optional[str]:
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not installed"
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if info.returncode != 0:
        return "no Docker engine answers `docker info`"
    if os.environ.get(OPT_IN) != "1":
        return f"set {OPT_IN}=1 to run it (pulls images, takes minutes)"
    return None


pytestmark = pytest.mark.skipif(bool(reason := missing_prerequisite()), reason=f"real up/destroy: {reason}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_interpreter(settings_file: Path) -> None:
    """Run the program (or pack) with this test's interpreter, whose packages are installed already."""
    settings = yaml.safe_load(settings_file.read_text())
    options = settings["runtime"].setdefault("options", {})
    if sys.prefix != sys.base_prefix:
        options["virtualenv"] = sys.prefix
    else:
        options.pop("virtualenv", None)
    settings_file.write_text(yaml.safe_dump(settings, sort_keys=False))


def copy_project(target: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "components", target / "components", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "policy", target / "policy", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    with_interpreter(target / "Pulumi.yaml")
    with_interpreter(target / "policy" / "PulumiPolicy.yaml")


def docker_names(kind: str, prefix: str) -> set[str]:
    listing = ["docker", kind, "ls", "--format", "{{.Name}}", "--filter", f"name={prefix}"]
    if kind == "container":
        listing = ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"name={prefix}"]
    names = subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()
    return {name for name in names if name.startswith(prefix)}


class Tracker:
    """A logged-in session against the deployed GlitchTip (allauth's headless browser API)."""

    def __init__(self, base: str, email: str, password: str):
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        try:
            self.opener.open(f"{base}/_allauth/browser/v1/auth/session", timeout=10)
        except urllib.error.HTTPError as unauthenticated:  # 401, but the CSRF cookie is set
            assert unauthenticated.code == 401
        csrf = next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")
        login = urllib.request.Request(
            f"{base}/_allauth/browser/v1/auth/login", method="POST",
            data=json.dumps({"email": email, "password": password}).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": f"{base}/"})
        with self.opener.open(login, timeout=10) as response:
            assert response.status == 200

    def get(self, path: str) -> Any:
        with self.opener.open(f"{self.base}{path}", timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    from pulumi import automation as auto

    work = tmp_path_factory.mktemp("project")
    copy_project(work)
    prefix = f"ettest{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {
        "PULUMI_BACKEND_URL": (tmp_path_factory.mktemp("state")).as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE") or secrets.token_urlsafe(24),
    }
    stack = auto.create_stack(f"it-{prefix}", work_dir=str(work),
                              opts=auto.LocalWorkspaceOptions(env_vars=env, secrets_provider="passphrase"))
    # The dev stack's configuration, on its own prefix and port.
    stack_file = work / f"Pulumi.it-{prefix}.yaml"
    settings = yaml.safe_load(stack_file.read_text()) or {}
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config["error-tracking:url"] = f"http://localhost:{port}"
    config["error-tracking:docker"] = {**config.get("error-tracking:docker", {}), "port": port,
                                       "bindAddress": "127.0.0.1", "namePrefix": prefix}
    stack_file.write_text(yaml.safe_dump({**settings, "config": config}, sort_keys=False))
    packs = {"policy_packs": [str(work / "policy")], "policy_pack_configs": [str(work / "policy/config/dev.json")]}
    log = work / "pulumi.log"
    try:
        with log.open("a") as output:
            first = stack.up(on_output=output.write, **packs)
        yield {"stack": stack, "packs": packs, "prefix": prefix, "port": port, "first": first, "log": log,
               "outputs": {name: value.value for name, value in first.outputs.items()}}
    finally:
        with log.open("a") as output:
            stack.destroy(on_output=output.write)
        stack.workspace.remove_stack(stack.name)
        for volume in docker_names("volume", prefix):
            subprocess.run(["docker", "volume", "rm", volume], capture_output=True)


def test_the_tracker_answers_on_its_health_endpoint(deployment):
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{deployment['port']}/_health/", timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_an_event_sent_to_an_output_dsn_arrives(deployment):
    import sentry_sdk

    outputs = deployment["outputs"]
    assert outputs["postDeployCheck"].startswith("passed:")
    assert "error-tracking-check" not in outputs["dsns"]
    project = sorted(outputs["dsns"])[0]
    client = sentry_sdk.Client(dsn=outputs["dsns"][project], default_integrations=False)
    with sentry_sdk.new_scope() as scope:  # this client only, not the process-wide one
        scope.set_client(client)
        event_id = scope.capture_message(f"error-tracking integration test {uuid.uuid4()}")
    client.close(timeout=10)
    assert event_id
    tracker = Tracker(f"http://127.0.0.1:{deployment['port']}", outputs["adminEmail"], outputs["adminPassword"])
    [organization] = [o for o in tracker.get("/api/0/organizations/") if o["name"] == outputs["organization"]]
    deadline = time.monotonic() + 120
    while not tracker.get(f"/api/0/organizations/{organization['slug']}/issues/?query={uuid.UUID(event_id)}"):
        assert time.monotonic() < deadline, f"event {event_id} did not reach project {project} within 120 s"
        time.sleep(3)


def test_a_second_up_changes_nothing(deployment):
    with deployment["log"].open("a") as output:
        second = deployment["stack"].up(on_output=output.write, expect_no_changes=True, **deployment["packs"])
    assert set(second.summary.resource_changes) == {"same"}


def test_destroy_leaves_only_the_retained_volumes(deployment):
    stack, prefix = deployment["stack"], deployment["prefix"]
    state = stack.export_stack().deployment
    retained = {r["outputs"]["name"] for r in state["resources"]
                if r["type"] == "docker:index/volume:Volume" and r.get("retainOnDelete")}
    assert retained, "the program retains its data volumes"
    with deployment["log"].open("a") as output:
        stack.destroy(on_output=output.write)
    assert docker_names("container", prefix) == set()
    assert docker_names("network", prefix) == set()
    assert docker_names("volume", prefix) == retained
