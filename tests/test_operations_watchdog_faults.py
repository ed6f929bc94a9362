"""The watchdog broken on purpose, for real: alert channels and a health URL on loopback that answer
garbage, hang or refuse, its state file lost, damaged or on a full volume (a tmpfs), and in
Kubernetes mode its ConfigMap damaged, deleted or unwritable, and an API server answering garbage."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.operations.watchdog import checks, passes, stores
from components.operations.watchdog.config import Config
from components.operations.watchdog.kubernetes import ConfigMapState, KubernetesApi, kubernetes_checks
from components.operations.watchdog.state import Result
from tests.fault_tools import fill, plant, set_age, small_filesystem, stamp

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WATCHDOG_ROOT = Path(passes.__file__).parent.parent  # what the container has on PYTHONPATH


class Channel(socketserver.ThreadingTCPServer):
    """A loopback endpoint whose behaviour a test switches: "http" answers 200 (with {"ok": true},
    as Telegram does) and records each JSON body; "garbage" answers something that is not HTTP
    (nor SMTP); "hang" reads and never answers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str):
        self.mode, self.received, self.connections = mode, [], 0
        self.closing = threading.Event()
        super().__init__(("127.0.0.1", 0), ChannelHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.closing.set()
        self.shutdown()
        self.server_close()


class ChannelHandler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        server.connections += 1
        if server.mode == "garbage":
            self.wfile.write(b"HELLO THERE, NOT HTTP\r\n\r\n")
            self.wfile.flush()
            self.request.settimeout(2)  # then reads what the client sends, until it gives up
            try:
                while self.request.recv(4096):
                    pass
            except OSError:
                pass
            return
        if server.mode == "hang":
            server.closing.wait(30)
            return
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        server.received.append(json.loads(self.rfile.read(length) or b"null"))
        body = b'{"ok": true}'
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def channels():
    made = []

    def make(mode):
        made.append(Channel(mode))
        return made[-1]
    yield make
    for channel in made:
        channel.stop()


def texts(channel: Channel) -> list[str]:
    return [body.get("text", "") for body in channel.received]


# --- channels: a bad one never stops the others; each alert reaches each target once ------------

def test_a_channel_answering_garbage_gets_the_alert_once_it_answers_and_the_others_once(tmp_path, channels):
    telegram, webhook, smtp = channels("http"), channels("garbage"), channels("garbage")
    config = Config(mode="docker", site="s", fail_after=1, state_file=str(tmp_path / "state.json"),
                    telegram_token=TOKEN, telegram_chat_id="1", telegram_api=telegram.url,
                    webhook_url=f"{webhook.url}/hook", email_url=f"smtp://{smtp.url.split('//')[1]}",
                    email_to=("ops@example.com",), send_timeout_seconds=2)
    down = lambda now: {"web": Result(False, "down")}  # noqa: E731
    start = time.time()
    for offset in (0, 30, 60):  # each pass a new process, as after a restart: only the file remembers
        passes.one_pass(config, down, stores.FileState(config.state_file), start + offset)
    assert texts(telegram) == ["[s] FAILING: web: down"]
    assert webhook.connections == 2 and smtp.connections == 2  # at once, not at +30 (backing off), at +60
    webhook.mode = "http"
    passes.one_pass(config, down, stores.FileState(config.state_file), start + 200)
    assert texts(webhook) == ["[s] FAILING: web: down"] and texts(telegram) == ["[s] FAILING: web: down"]
    document = json.loads((tmp_path / "state.json").read_text())
    assert [(m["target"], m["attempts"]) for m in document["outbox"]] == [("email", 3)]


def test_a_hanging_channel_delays_a_pass_by_its_timeout_only(tmp_path, channels):
    telegram, webhook = channels("http"), channels("hang")
    config = Config(mode="docker", site="s", fail_after=1, state_file=str(tmp_path / "state.json"),
                    telegram_token=TOKEN, telegram_chat_id="1", telegram_api=telegram.url,
                    webhook_url=f"{webhook.url}/hook", send_timeout_seconds=0.5)
    started = time.monotonic()
    alerts = [f"check {n}" for n in range(3)]
    passes.one_pass(config, lambda now: {name: Result(False, "down") for name in alerts},
                    stores.FileState(config.state_file), time.time())
    assert time.monotonic() - started < 5  # one timeout, not one per alert
    assert webhook.connections == 1 and len(texts(telegram)) == 3


def test_a_health_url_answering_garbage_fails_that_check_alone(tmp_path, channels, monkeypatch):
    health = channels("garbage")
    config = Config(mode="docker", site="s", health_url=f"{health.url}/_health/", backup_dir=str(tmp_path),
                    backup_name="glitchtip", drill_max_age_days=35, check_timeout_seconds=2)
    results = checks.docker_checks(config)
    assert not results["web"].ok and "not HTTP" in results["web"].detail
    assert set(results) == {"web", "backup", "drill"}
    monkeypatch.setattr(checks, "newest_backup", lambda *args: 1 / 0)  # a check that breaks
    results = checks.docker_checks(config)
    assert "the check itself failed: ZeroDivisionError" in results["backup"].detail and "drill" in results


def test_only_sane_backups_keep_the_backup_and_job_checks_green(tmp_path):
    """A future-dated dump used to read as "newest backup is -8760 h old" and keep the check green."""
    now = time.time()
    future = plant(tmp_path, f"glitchtip-{stamp(-365)}.dump", -365)
    empty = plant(tmp_path, f"glitchtip-{stamp(0.1)}.dump", 0.1, content=b"")
    result = checks.newest_backup(str(tmp_path), "glitchtip", 26, now)
    assert not result.ok and f"{future.name} is dated 8760.0 h in the future" in result.detail
    assert f"{empty.name} is empty or gone" in result.detail
    plant(tmp_path, f"glitchtip-{stamp(0.5)}.dump", 0.5)
    assert checks.newest_backup(str(tmp_path), "glitchtip", 26, now).ok
    ok = tmp_path / ".last-drill-ok"
    ok.write_text("2027-12-01T05:00:00Z restored\n")
    set_age(ok, -365)
    drill = checks.job_result(str(tmp_path), "drill", 840, now)
    assert not drill.ok and "in the future: a clock is wrong" in drill.detail


def _running(env: dict, tmp_path: Path) -> subprocess.Popen:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(WATCHDOG_ROOT), "PYTHONDONTWRITEBYTECODE": "1",
            "WATCHDOG_INTERVAL_SECONDS": "1", "WATCHDOG_ALIVE_FILE": str(tmp_path / "alive"),
            "WATCHDOG_FAIL_AFTER": "1", "WATCHDOG_SITE": "s"}
    return subprocess.Popen([sys.executable, "-m", "watchdog", "run"], env={**base, **env}, cwd="/",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen) -> str:
    alive = process.poll() is None
    process.kill()
    output = process.communicate()[0]
    assert alive, f"the watchdog exited:\n{output}"
    return output


def _wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_docker_watchdog_keeps_running_through_garbage_and_never_repeats_an_alert(tmp_path, channels):
    """A webhook and a health URL answering garbage used to crash the pass: the container
    crash-looped, and Telegram got the same alert on every restart."""
    telegram, webhook, health = channels("http"), channels("garbage"), channels("garbage")
    process = _running({"WATCHDOG_STATE_FILE": str(tmp_path / "state.json"), "WATCHDOG_HEALTH_URL": f"{health.url}/",
                        "ALERT_TELEGRAM_BOT_TOKEN": TOKEN, "ALERT_TELEGRAM_CHAT_ID": "1",
                        "ALERT_TELEGRAM_API": telegram.url, "ALERT_WEBHOOK_URL": f"{webhook.url}/hook"}, tmp_path)
    _wait_for(lambda: health.connections >= 3)
    output = _stop(process)
    assert [t.split(":")[0:2] for t in texts(telegram)] == [["[s] FAILING", " web"]], output
    assert webhook.connections == 1  # tried once, then backing off (a minute)
    assert "the answer is not HTTP" in output


def test_a_full_state_volume_causes_no_alert_storm(tmp_path, channels):
    """State on a full volume used to re-send every alert on every pass (12 alerts in 12 s)."""
    webhook = channels("http")
    with small_filesystem(tmp_path / "state", 64) as volume:
        fill(volume)
        process = _running({"WATCHDOG_STATE_FILE": str(volume / "watchdog.json"),
                            "WATCHDOG_HEALTH_URL": "http://127.0.0.1:9/", "ALERT_WEBHOOK_URL": f"{webhook.url}/hook"},
                           tmp_path)
        _wait_for(lambda: len(webhook.received) >= 2)
        time.sleep(1.5)  # another pass or two: nothing more to say
        output = _stop(process)
    assert sorted(t.split(":")[1].strip() for t in texts(webhook)) == ["watchdog-state", "web"], output
    assert "No space left on device" in texts(webhook)[1] or "No space left on device" in texts(webhook)[0]


def test_a_state_file_lost_while_running_changes_nothing(tmp_path):
    config = Config(mode="docker", site="s", fail_after=1, state_file=str(tmp_path / "state.json"))
    sent, memory, store = [], passes.Memory(), stores.FileState(str(tmp_path / "state.json"))
    outcome = {"web": Result(False, "down")}
    config_targets = {"webhook": sent.append}
    run = lambda now: passes.one_pass(config, lambda _: outcome, store, now, memory)  # noqa: E731
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Config, "targets", lambda self: config_targets)
        run(1000)
        for path in (tmp_path / "state.json", tmp_path / "state.json.copy"):
            path.unlink()  # the volume replaced under the running container
        run(1060)
        outcome = {"web": Result(True, "fine")}
        run(1120)
    assert [t.split(":")[0] for t in sent] == ["[s] FAILING", "[s] RECOVERED"]


def test_a_damaged_state_file_is_replaced_by_its_copy_at_restart(tmp_path):
    config = Config(mode="docker", site="s", fail_after=1, state_file=str(tmp_path / "state.json"))
    sent = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Config, "targets", lambda self: {"webhook": sent.append})
        passes.one_pass(config, lambda now: {"web": Result(False, "down")}, stores.FileState(config.state_file), 1000)
        (tmp_path / "state.json").write_text('{"version": 2, "checks": {"web": ')  # torn by a crash, say
        passes.one_pass(config, lambda now: {"web": Result(False, "down")}, stores.FileState(config.state_file), 1060)
        passes.one_pass(config, lambda now: {"web": Result(True, "fine")}, stores.FileState(config.state_file), 1120)
    assert [t.split(":")[0] for t in sent] == ["[s] FAILING", "[s] RECOVERED"]


# --- Kubernetes: the same faults, with only the ConfigMap to remember --------------------------

class Api(BaseHTTPRequestHandler):
    """Answers like the API server for one namespace; `server.broken` makes GET or PATCH of the
    ConfigMap fail with that status, or every answer garbage ("garbage")."""

    def _answer(self, status, body):
        if self.server.broken.get("all") == "garbage":
            self.wfile.write(b"garbage\r\n\r\n")
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        status = self.server.broken.get("GET") if "configmaps" in self.path else None
        if status or self.path not in self.server.objects:
            return self._answer(status or 404, {"kind": "Status", "code": status or 404})
        self._answer(200, self.server.objects[self.path])

    def do_PATCH(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.server.broken.get("PATCH")
        if status or self.path not in self.server.objects:
            return self._answer(status or 404, {"kind": "Status", "code": status or 404})
        self.server.objects[self.path].setdefault("data", {}).update(body["data"])
        self._answer(200, self.server.objects[self.path])

    def log_message(self, *args):
        pass


CONFIGMAP = "/api/v1/namespaces/errors/configmaps/watchdog-state"
WORKER = "/apis/apps/v1/namespaces/errors/deployments/worker"


@pytest.fixture
def cluster_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    server.daemon_threads = True
    server.broken = {}
    server.objects = {CONFIGMAP: {"data": {}}, WORKER: {"spec": {"replicas": 1}, "status": {}}}  # worker down
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server, KubernetesApi(f"http://127.0.0.1:{server.server_address[1]}", "pod-token", "errors", None)
    server.shutdown()
    server.server_close()


def cronjob_runs(api, times, sent, interval=300):
    """One watchdog pass per CronJob run, each a new process with a new store."""
    config = Config(mode="kubernetes", site="s", worker_deployment="worker", fail_after=1, interval_seconds=interval)
    results = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Config, "targets", lambda self: {"webhook": sent.append})
        for now in times:
            results.append(passes.one_pass(config, lambda n: kubernetes_checks(config, api, n),
                                           ConfigMapState(api, "watchdog-state"), now))
    return results


HOUR = 3600
START = 1_800_000_000 - 1_800_000_000 % HOUR + 600  # ten minutes past an hour


def test_kubernetes_a_damaged_configmap_key_costs_nothing(cluster_api):
    server, api = cluster_api
    sent = []
    cronjob_runs(api, [START], sent)
    server.objects[CONFIGMAP]["data"]["state"] = "{not json"  # someone's hand edit
    server.objects[WORKER]["status"] = {"readyReplicas": 1}
    cronjob_runs(api, [START + 300], sent)
    assert [t.split(":")[0] for t in sent] == ["[s] FAILING", "[s] RECOVERED"]


def test_kubernetes_a_deleted_configmap_means_an_hourly_summary_not_a_storm(cluster_api):
    server, api = cluster_api
    del server.objects[CONFIGMAP]
    sent = []
    outcomes = cronjob_runs(api, [START + n * 300 for n in range(12)], sent)  # an hour of runs
    assert len(sent) == 1 and "WATCHDOG DEGRADED" in sent[0] and "worker (deployment worker: 0/1" in sent[0]
    assert not any(outcomes)  # every Job fails: kubectl shows it too


def test_kubernetes_an_unwritable_configmap_says_so_at_once_then_holds_alerts_back(cluster_api):
    server, api = cluster_api
    sent = []
    server.objects[WORKER]["status"] = {"readyReplicas": 1}
    cronjob_runs(api, [START], sent)  # a good run saves its state
    server.broken["PATCH"] = 403
    server.objects[WORKER]["status"] = {}
    cronjob_runs(api, [START + n * 300 for n in range(1, 8)], sent)
    assert len(sent) == 1 and "cannot save its state" in sent[0] and "HTTP 403" in sent[0]
    server.broken.clear()
    cronjob_runs(api, [START + 8 * 300], sent)  # saving works again: the failure, alerted once
    assert [t.split(":")[0] for t in sent[1:]] == ["[s] FAILING"]


def test_kubernetes_a_state_that_cannot_be_read_once_is_neither_overwritten_nor_alerted_again(cluster_api):
    server, api = cluster_api
    sent = []
    cronjob_runs(api, [START], sent)  # the worker's failure, alerted and saved
    server.broken["GET"] = 500  # one run cannot read the ConfigMap (it could still write it)
    cronjob_runs(api, [START + 300], sent)
    server.broken.clear()
    cronjob_runs(api, [START + 600, START + 900], sent)
    assert [t.split(":")[0] for t in sent] == ["[s] FAILING"]


def test_kubernetes_an_api_server_answering_garbage_fails_the_run_without_a_crash(cluster_api):
    server, api = cluster_api
    server.broken["all"] = "garbage"
    sent = []
    assert cronjob_runs(api, [START], sent) == [False]
    results = kubernetes_checks(Config(mode="kubernetes", site="s", worker_deployment="worker"), api, START)
    assert not results["worker"].ok and "not HTTP" in results["worker"].detail


def test_kubernetes_state_answers_of_the_wrong_shape_are_a_store_failure(cluster_api):
    server, api = cluster_api
    server.objects[CONFIGMAP] = {"data": ["not", "a", "map"]}
    with pytest.raises(stores.StateError):
        ConfigMapState(api, "watchdog-state").load()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = KubernetesApi(f"http://127.0.0.1:{probe.getsockname()[1]}", "t", "errors", None)
    with pytest.raises(stores.StateError):
        ConfigMapState(closed, "watchdog-state").save({})
