"""The watchdog's decisions (once per failure, once per recovery), its checks over files and HTTP,
a full pass with state kept across restarts, and the program run the way the container runs it.
Faults (garbage answers, lost or unwritable state, failing targets): test_operations_watchdog_faults.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.operations.watchdog import checks, outbox, passes, state, stores
from components.operations.watchdog.config import Config, ConfigError, from_environment
from components.operations.watchdog.state import Result

FAIL, OK = Result(False, "down"), Result(True, "fine")


def run_steps(outcomes, fail_after=3, window=None):
    """Feeds one check's outcomes through `step`; returns the alert kinds of each run."""
    current, kinds = {}, []
    for index, outcome in enumerate(outcomes):
        current, alerts = state.step(current, {"web": outcome}, now=1000.0 + index * 60, fail_after=fail_after,
                                     window=window)
        kinds.append([a.kind for a in alerts])
    return current, kinds


# --- decisions -------------------------------------------------------------------------------

def test_a_failure_is_alerted_once_after_fail_after_runs_and_never_again_while_it_lasts():
    _, kinds = run_steps([FAIL] * 6)
    assert kinds == [[], [], ["failing"], [], [], []]


def test_a_recovery_is_alerted_once_after_fail_after_passes_in_a_row_and_only_after_an_alerted_failure():
    _, kinds = run_steps([FAIL, FAIL, FAIL, OK, OK, OK, OK])
    assert kinds == [[], [], ["failing"], [], [], ["recovered"], []]
    _, blip = run_steps([FAIL, OK, OK])
    assert blip == [[], [], []]


def test_a_target_down_two_checks_out_of_three_is_alerted_within_the_window():
    pattern = [FAIL, FAIL, OK] * 4
    _, in_a_row = run_steps(pattern, fail_after=3, window=3)  # the old rule: three in a row only
    assert in_a_row == [[]] * 12
    _, kinds = run_steps(pattern, fail_after=3, window=5)
    assert kinds[:4] == [[], [], [], ["failing"]]
    assert kinds[4:] == [[]] * 8  # one incident while it keeps flapping: no recovered/failing pairs


def test_a_check_that_fails_less_often_than_the_threshold_never_alerts():
    _, kinds = run_steps([FAIL, OK, OK, OK, FAIL, OK, OK, OK, FAIL, OK], fail_after=3, window=5)
    assert kinds == [[]] * 10


def test_fail_after_one_alerts_on_the_first_failure():
    _, kinds = run_steps([FAIL, FAIL], fail_after=1)
    assert kinds == [["failing"], []]


def test_the_recovery_message_says_how_long_it_was_down():
    current, _ = run_steps([FAIL, FAIL, FAIL, OK, OK])
    _, [alert] = state.step(current, {"web": OK}, now=1000.0 + 30 * 60, fail_after=3)
    assert state.message("errors.example.com", alert, 1000.0 + 30 * 60) == \
        "[errors.example.com] RECOVERED: web (after 30 min): fine"


def test_a_message_is_queued_once_per_target_and_a_refusing_target_backs_off_alone():
    queue = outbox.add([], ["[s] FAILING: web: down"], ["telegram", "webhook"])
    sent = []

    def refuse(text):
        raise RuntimeError("garbage")
    targets = {"telegram": sent.append, "webhook": refuse}
    queue, reached = passes.send_due(queue, targets, now=1000)
    assert reached and sent == ["[s] FAILING: web: down"]
    assert [(m.target, m.attempts, m.next_try) for m in queue] == [("webhook", 1, 1060)]
    queue, _ = passes.send_due(queue, targets, now=1030)  # not due yet: not tried
    assert queue[0].attempts == 1
    queue, _ = passes.send_due(queue, targets, now=1060)
    assert [(m.attempts, m.next_try) for m in queue] == [(2, 1180)]  # the wait doubles
    targets["webhook"] = sent.append
    queue, _ = passes.send_due(queue, targets, now=1180)
    assert queue == [] and sent == ["[s] FAILING: web: down"] * 2  # each target got it exactly once


def test_the_back_off_is_capped_and_a_dead_target_cannot_grow_the_state_for_ever():
    assert [outbox.retry_in(n) for n in (1, 2, 3, 7, 30)] == [60, 120, 240, 3600, 3600]
    queue = outbox.add([], [f"alert {n}" for n in range(outbox.MAX_PENDING_PER_TARGET + 5)], ["webhook"])
    assert len(queue) == outbox.MAX_PENDING_PER_TARGET and queue[-1].text.endswith(str(outbox.MAX_PENDING_PER_TARGET + 4))


def test_state_survives_its_json_form_and_garbage_starts_clean():
    current, _ = run_steps([FAIL, FAIL, FAIL])
    assert state.load(json.loads(json.dumps(state.dump(current)))) == current
    assert state.load({"web": {"failing": "?"}, "disk": "nonsense"}) == {}


def test_a_state_written_by_the_previous_version_still_reads():
    old = {"web": {"failing": True, "streak": 4, "alerted": True, "since": 900.0, "detail": "down"}}
    checks, pending, saved_at = stores.read(old)
    assert checks["web"].alerted and checks["web"].history == "xxxx" and pending == [] and saved_at is None
    _, alerts = state.step(checks, {"web": FAIL}, now=2000, fail_after=3)
    assert alerts == []  # already alerted before the upgrade: not again


def test_checks_no_longer_run_are_forgotten():
    current, _ = run_steps([FAIL, FAIL, FAIL])
    current, alerts = state.step(current, {"disk": OK}, now=9000, fail_after=3)
    assert "web" not in current and alerts == []


# --- checks ----------------------------------------------------------------------------------

def _touch(path: Path, seconds_ago: float) -> Path:
    path.write_text("x\n")
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))
    return path


def test_worker_heartbeat_must_exist_and_be_fresh(tmp_path):
    beat = tmp_path / "worker"
    assert not checks.heartbeat(str(beat), 180, time.time()).ok
    _touch(beat, 10)
    assert checks.heartbeat(str(beat), 180, time.time()).ok
    _touch(beat, 600)
    assert "600 s old" in checks.heartbeat(str(beat), 180, time.time()).detail


def test_backup_freshness_looks_at_the_newest_dump_of_the_database(tmp_path):
    now = time.time()
    assert not checks.newest_backup(str(tmp_path), "glitchtip", 26, now).ok
    for name, seconds_ago in (("glitchtip-20261101T030000Z.dump", 30 * 3600), ("other-20261102T030000Z.dump", 60),
                              ("glitchtip-pre-upgrade-from-6.2.5-20261102T030000Z.dump", 3600)):
        _touch(tmp_path / f"{name}.sha256", 0)
        if not name.startswith("glitchtip-pre"):
            _touch(tmp_path / name, seconds_ago)
    # Too old, and another database's dump does not count.
    assert not checks.newest_backup(str(tmp_path), "glitchtip", 26, now).ok
    _touch(tmp_path / "glitchtip-pre-upgrade-from-6.2.5-20261102T030000Z.dump", 3600)
    assert checks.newest_backup(str(tmp_path), "glitchtip", 26, now).ok


def test_a_job_result_fails_when_its_last_run_failed_or_is_too_old(tmp_path):
    now = time.time()
    assert checks.job_result(str(tmp_path), "drill", 840, now).detail == "no successful drill recorded yet"
    _touch(tmp_path / ".last-drill-ok", 3600)
    assert checks.job_result(str(tmp_path), "drill", 840, now).ok
    (tmp_path / ".last-drill-failed").write_text("2026-11-01T05:00:00Z restoring x failed\n")
    result = checks.job_result(str(tmp_path), "drill", 840, now)
    assert not result.ok and "restoring x failed" in result.detail
    _touch(tmp_path / ".last-drill-ok", 0)
    _touch(tmp_path / ".last-drill-failed", 60)
    assert checks.job_result(str(tmp_path), "drill", 840, time.time()).ok
    _touch(tmp_path / ".last-drill-ok", 900 * 3600)
    _touch(tmp_path / ".last-drill-failed", 1000 * 3600)
    assert not checks.job_result(str(tmp_path), "drill", 840, time.time()).ok


def test_disk_free_compares_with_the_minimum(tmp_path):
    assert checks.disk_free(str(tmp_path), 1).ok
    assert not checks.disk_free(str(tmp_path), 100).ok  # no real disk is completely empty


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        status = self.server.status
        if self.path == "/hook":
            status = 404
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(self.server.hook_status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.status, server.hook_status, server.posts = 200, 200, []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


def test_the_health_endpoint_must_answer_2xx(web):
    assert checks.http_ok(f"{web.url}/_health/").ok
    web.status = 503
    assert "HTTP 503" in checks.http_ok(f"{web.url}/_health/").detail


# --- a whole pass, state kept across restarts ------------------------------------------------

def test_one_pass_alerts_once_remembers_across_restarts_and_announces_recovery(tmp_path, web):
    config = Config(mode="docker", site="errors.example.com", health_url=f"{web.url}/_health/", fail_after=2,
                    state_file=str(tmp_path / "state.json"), webhook_url=f"{web.url}/hook")
    web.status = 500
    for _ in range(4):
        # A new store object each pass: what a restarted container sees.
        assert passes.one_pass(config, lambda now: {"web": checks.http_ok(config.health_url)},
                               stores.FileState(config.state_file), time.time())
    assert [p["text"] for p in web.posts] == [
        f"[errors.example.com] FAILING: web: {web.url}/_health/ answered HTTP 500"]
    web.status = 200
    for _ in range(2):  # recovered once it passed failAfter times in a row
        passes.one_pass(config, lambda now: {"web": checks.http_ok(config.health_url)},
                        stores.FileState(config.state_file), time.time())
    assert web.posts[-1]["text"].startswith("[errors.example.com] RECOVERED: web")
    assert len(web.posts) == 2


def test_an_alert_no_target_accepted_is_retried_on_the_next_pass(tmp_path, web):
    config = Config(mode="docker", site="s", fail_after=1, state_file=str(tmp_path / "state.json"),
                    webhook_url=f"{web.url}/hook")
    down = lambda now: {"backup": Result(False, "no backup")}  # noqa: E731
    web.hook_status = 500
    now = time.time()
    assert not passes.one_pass(config, down, stores.FileState(config.state_file), now)
    web.hook_status = 200
    assert passes.one_pass(config, down, stores.FileState(config.state_file), now + outbox.FIRST_RETRY_SECONDS)
    assert passes.one_pass(config, down, stores.FileState(config.state_file), now + 2 * outbox.FIRST_RETRY_SECONDS)
    assert [p["text"] for p in web.posts] == ["[s] FAILING: backup: no backup"] * 2  # one refused, one taken


# --- configuration and the program as the container runs it ----------------------------------

def test_configuration_comes_from_the_environment():
    config = from_environment({
        "WATCHDOG_MODE": "kubernetes", "WATCHDOG_BACKUP_CRONJOB": "backup", "WATCHDOG_DRILL_CRONJOB": "drill",
        "WATCHDOG_DRILL_MAX_AGE_HOURS": "840", "ALERT_EMAIL_TO": "a@example.com, b@example.com",
    })
    assert config.cronjobs == {"backup": ("backup", 26), "drill": ("drill", 840)}
    assert from_environment({"WATCHDOG_FAIL_AFTER": "2", "WATCHDOG_FAIL_WINDOW": "4"}).fail_window == 4
    assert from_environment({"ALERT_TIMEOUT_SECONDS": "2.5"}).send_timeout_seconds == 2.5
    assert config.email_to == ("a@example.com", "b@example.com")
    with pytest.raises(ConfigError, match="WATCHDOG_INTERVAL_SECONDS"):
        from_environment({"WATCHDOG_INTERVAL_SECONDS": "often"})


def _watchdog(*args, **env):
    """Runs the mounted package as the container does; WATCHDOG_TEST_PYTHON picks another
    interpreter (the image runs 3.13: `WATCHDOG_TEST_PYTHON=python3.13 pytest ...`)."""
    root = Path(passes.__file__).parent.parent  # what the container has on PYTHONPATH
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    python = os.environ.get("WATCHDOG_TEST_PYTHON", sys.executable)
    return subprocess.run([python, "-m", "watchdog", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=30, cwd="/")


def test_the_test_command_sends_to_every_target_and_fails_naming_a_refusing_one(web):
    result = _watchdog("test", WATCHDOG_SITE="errors.example.com", ALERT_WEBHOOK_URL=f"{web.url}/hook/T0SECRET")
    assert result.returncode == 0, result.stdout + result.stderr
    assert web.posts == [{"text": "[errors.example.com] test message from the watchdog: alerts reach webhook"}]
    web.hook_status = 403
    refused = _watchdog("test", ALERT_WEBHOOK_URL=f"{web.url}/hook/T0SECRET")
    assert refused.returncode == 1
    assert "webhook: HTTP 403" in refused.stdout and "T0SECRET" not in refused.stdout
    assert _watchdog("test").returncode == 2  # no target at all


def test_alive_follows_the_last_completed_pass(tmp_path):
    alive_file = tmp_path / "alive"
    assert _watchdog("alive", WATCHDOG_ALIVE_FILE=str(alive_file)).returncode == 1
    alive_file.write_text("1")
    assert _watchdog("alive", WATCHDOG_ALIVE_FILE=str(alive_file)).returncode == 0
    _touch(alive_file, 600)
    assert _watchdog("alive", WATCHDOG_ALIVE_FILE=str(alive_file), WATCHDOG_INTERVAL_SECONDS="60").returncode == 1


def test_run_keeps_checking_and_stays_alive_while_it_does(tmp_path, web):
    root = Path(passes.__file__).parent.parent
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(root), "WATCHDOG_INTERVAL_SECONDS": "1",
           "WATCHDOG_ALIVE_FILE": str(tmp_path / "alive"), "WATCHDOG_STATE_FILE": str(tmp_path / "state.json"),
           "WATCHDOG_HEALTH_URL": f"{web.url}/_health/", "WATCHDOG_FAIL_AFTER": "2",
           "ALERT_WEBHOOK_URL": f"{web.url}/hook"}
    web.status = 500
    process = subprocess.Popen([sys.executable, "-m", "watchdog", "run"], env=env, cwd="/",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not web.posts and time.time() < deadline:
            time.sleep(0.05)
        assert _watchdog("alive", WATCHDOG_ALIVE_FILE=str(tmp_path / "alive")).returncode == 0
    finally:
        process.kill()
        process.wait()
    assert [p["text"].split(":")[0] for p in web.posts] == ["[error tracking] FAILING"]
    assert json.loads((tmp_path / "state.json").read_text())["checks"]["web"]["alerted"] is True


def test_more_jobs_beside_the_backups_are_checked_by_their_result_files(tmp_path):
    config = from_environment({"WATCHDOG_BACKUP_DIR": str(tmp_path), "WATCHDOG_BACKUP_NAME": "postgres",
                               "WATCHDOG_RESULTS": "clickhouse-backup:26,clickhouse-drill:840"})
    assert config.results == {"clickhouse-backup": 26, "clickhouse-drill": 840}
    (tmp_path / ".last-clickhouse-backup-ok").write_text("ok")
    (tmp_path / ".last-clickhouse-drill-failed").write_text("2026-08-01T05:00:00Z table errors_local came back empty")
    results = checks.docker_checks(config)
    assert results["clickhouse-backup"].ok
    assert not results["clickhouse-drill"].ok and "came back empty" in results["clickhouse-drill"].detail
    with pytest.raises(ConfigError, match="WATCHDOG_RESULTS"):
        from_environment({"WATCHDOG_RESULTS": "clickhouse-backup"})


def test_the_kubernetes_form_follows_the_clickhouse_cronjobs_too():
    config = from_environment({"WATCHDOG_MODE": "kubernetes",
                               "WATCHDOG_CLICKHOUSE_BACKUP_CRONJOB": "clickhouse-backup",
                               "WATCHDOG_CLICKHOUSE_BACKUP_MAX_AGE_HOURS": "26",
                               "WATCHDOG_CLICKHOUSE_DRILL_CRONJOB": "clickhouse-drill",
                               "WATCHDOG_CLICKHOUSE_DRILL_MAX_AGE_HOURS": "840"})
    assert config.cronjobs == {"clickhouse-backup": ("clickhouse-backup", 26), "clickhouse-drill": ("clickhouse-drill", 840)}
