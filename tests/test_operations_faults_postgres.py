"""The Postgres backup, retention, health, drill and restore scripts broken on purpose, for real
(PostgreSQL 15, the scripts under sh): a clock that jumped (files dated a year away), planted
empty, unchecksummed and future-dated dumps, concurrent and killed runs, sessions that will not
end or hold locks, a dump swapped mid-check, secret check values, an unwritable volume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from components.operations import describe
from tests.fault_tools import holding_lock, plant, recording, set_age, stamp, tool
from tests.postgres_cluster import Cluster, needs_postgres
# The seeded GlitchTip database and a backups volume, as the drill tests set them up (a cluster of this module's own).
from tests.test_operations_postgres import FINGERPRINT, ORGANIZATION, PROJECTS, backups, cluster  # noqa: F401

SCRIPTS = Path(describe.__file__).parent / "scripts"
pytestmark = needs_postgres

@pytest.fixture
def live(cluster):
    """A live database to replace, `live`, dropped afterwards with whatever a test left."""
    cluster.sql("CREATE DATABASE live TEMPLATE glitchtip", "postgres")
    yield "live"
    for name in cluster.databases():
        if name.startswith("live"):
            cluster.sql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true", "postgres")
            cluster.sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")


def run(cluster: Cluster, backups: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return cluster.script(SCRIPTS / script, backups, *args, **env)


def checks_env(tmp_path: Path, projects=PROJECTS, organization=ORGANIZATION) -> dict[str, str]:
    sql, variables = describe.glitchtip_checks(organization, projects)
    path = tmp_path / "checks.sql"
    path.write_text(sql)
    return {"CHECKS_SQL": str(path), **{f"CHECK_{k}": v for k, v in variables.items()}}


def daily(backups: Path) -> list[str]:
    return sorted(p.name for p in backups.glob("glitchtip-2*.dump"))


def prune(cluster: Cluster, backups: Path, days: int = 30) -> subprocess.CompletedProcess:
    """common.sh's retention alone, as backup.sh runs it after a dump."""
    return subprocess.run(["sh", "-c", f'. "$0"; prune_dumps {days}', str(SCRIPTS / "common.sh")],
                          env=cluster.env(backups), capture_output=True, text=True, timeout=60)


def allows_connections(cluster: Cluster, database: str) -> bool:
    return cluster.sql(f"SELECT datallowconn FROM pg_database WHERE datname = '{database}'", "postgres") == "t"


# --- retention: the clock is a hint, the count and the checksums decide ------------------------

def test_a_clock_a_year_ahead_never_costs_more_than_the_oldest_dump(cluster, backups):
    """The issue's run: 30 good daily dumps, and the clock one year ahead of them (the same as
    the dumps being a year old). One backup.sh used to delete all 30."""
    for day in range(30):
        plant(backups, f"glitchtip-{stamp(365 + day)}.dump", 365 + day)
    rollback = plant(backups, f"glitchtip-pre-upgrade-from-6.0.0-{stamp(500)}.dump", 500)
    oldest = f"glitchtip-{stamp(365 + 29)}.dump"
    result = run(cluster, backups, "backup.sh", RETENTION_DAYS="30")
    assert result.returncode == 0, result.stderr
    kept = daily(backups)
    assert len(kept) == 30 and oldest not in kept  # the new dump and the 29 newest of the old ones
    assert rollback.exists()
    assert "only 1 newer good backups" in result.stderr  # said why the old ones stay


def test_retention_deletes_beyond_the_count_and_age_only_while_the_newest_dumps_verify(cluster, backups):
    for day in range(33):
        plant(backups, f"glitchtip-{stamp(day + 0.5)}.dump", day + 0.5)
    old_rollback = plant(backups, f"glitchtip-pre-upgrade-from-6.0.0-{stamp(90)}.dump", 90)
    rollback = plant(backups, f"glitchtip-pre-upgrade-from-6.1.0-{stamp(60)}.dump", 60)
    rotten = [*sorted(backups.glob("glitchtip-2*.dump"))[:-2], rollback]
    for path in rotten:  # bit rot in all but the two newest: their checksums no longer match
        age = (time.time() - path.stat().st_mtime) / 86400
        data = bytearray(path.read_bytes())
        data[10] ^= 0xFF
        path.write_bytes(bytes(data))
        set_age(path, age)
    before = daily(backups)
    result = prune(cluster, backups)
    assert result.returncode == 0, result.stderr
    assert daily(backups) == before and old_rollback.exists()
    assert "no longer matches its checksum" in result.stderr
    for path in rotten:  # mended: now retention may go ahead
        plant(backups, path.name, (time.time() - path.stat().st_mtime) / 86400)
    assert prune(cluster, backups).returncode == 0
    assert len(daily(backups)) == 30  # the three older than 30 days each had 30 newer: removed
    assert not old_rollback.exists() and not (backups / f"{old_rollback.name}.sha256").exists()
    assert rollback.exists()  # the newest pre-upgrade dump is the rollback point, however old


def test_the_last_daily_dump_is_kept_however_old(cluster, backups):
    """Backups stopped months ago; since then one upgrade. Even where count and checksums would
    let it go (a day kept, one verified backup enough), the last daily dump stays."""
    only = plant(backups, f"glitchtip-{stamp(90)}.dump", 90)
    plant(backups, f"glitchtip-pre-upgrade-from-6.0.0-{stamp(0.5)}.dump", 0.5)
    result = subprocess.run(["sh", "-c", '. "$0"; prune_dumps 1', str(SCRIPTS / "common.sh")],
                            env=cluster.env(backups, RETENTION_KEEP="1"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert only.exists()


# --- health and the drill trust only sane, checksummed, non-empty dumps -------------------------

def test_future_dated_and_empty_dumps_neither_keep_health_green_nor_get_drilled(cluster, backups, tmp_path):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [real] = backups.glob("glitchtip-*.dump")
    set_age(real, 40 / 24)  # backups have been failing for 40 hours
    set_age(backups / f"{real.name}.sha256", 40 / 24)
    plant(backups, f"glitchtip-{stamp(-365)}.dump", -365, content=real.read_bytes())  # clock went back
    empty = backups / f"glitchtip-{stamp(0.05)}.dump"
    empty.write_bytes(b"")
    (backups / f"{empty.name}.sha256").write_text(f"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  {empty.name}\n")
    plant(backups, f"glitchtip-{stamp(0.1)}.dump", 0.1, checksum=False)  # a copy without its checksum
    assert run(cluster, backups, "health.sh", "backup", "glitchtip", "26").returncode != 0
    drill = run(cluster, backups, "drill.sh", **checks_env(tmp_path))
    assert drill.returncode == 0, drill.stderr
    assert (backups / ".last-drill-ok").read_text().split()[1] == real.name
    assert "in the future" in drill.stderr and "is empty" in drill.stderr and "no checksum file" in drill.stderr
    assert run(cluster, backups, "health.sh", "result", "drill", "840").returncode == 0
    set_age(backups / ".last-drill-ok", -365)  # a success recorded by a clock a year ahead
    assert run(cluster, backups, "health.sh", "result", "drill", "840").returncode != 0


def test_a_drill_with_only_untrusted_dumps_fails_instead_of_taking_a_fresh_one(cluster, backups, tmp_path):
    plant(backups, f"glitchtip-{stamp(1)}.dump", 1, checksum=False)
    result = run(cluster, backups, "drill.sh", **checks_env(tmp_path))
    assert result.returncode != 0
    assert "no dump of glitchtip is trusted" in (backups / ".last-drill-failed").read_text()
    assert len(list(backups.glob("glitchtip-*.dump"))) == 1  # did not hide it behind a new dump


# --- restore: no checksum, no restore; whatever fails, live keeps accepting connections ---------

def test_an_altered_dump_without_its_checksum_is_never_swapped_in(cluster, backups, live, tmp_path):
    assert run(cluster, backups, "backup.sh", PGDATABASE="live").returncode == 0
    [dump] = backups.glob("live-*.dump")
    cluster.sql("CREATE DATABASE tampered TEMPLATE glitchtip", "postgres")
    try:
        cluster.sql("DELETE FROM issue_events_issue WHERE id > 10", "tampered")
        altered = subprocess.run(["pg_dump", "--format=custom", "tampered"], env=cluster.env(backups),
                                 capture_output=True, check=True).stdout
    finally:
        cluster.sql("DROP DATABASE tampered", "postgres")
    dump.write_bytes(altered)
    (backups / f"{dump.name}.sha256").unlink()
    before = cluster.sql(FINGERPRINT, live)
    refused = run(cluster, backups, "restore.sh", "--replace", str(dump), PGDATABASE=live, **checks_env(tmp_path))
    assert refused.returncode != 0 and "has no checksum file" in refused.stderr
    assert cluster.sql(FINGERPRINT, live) == before and allows_connections(cluster, live)
    assert not [d for d in cluster.databases() if d.startswith("live_")]  # nothing was even created
    forced = run(cluster, backups, "restore.sh", "--no-checksum", "--replace", str(dump), PGDATABASE=live,
                 **checks_env(tmp_path))
    assert forced.returncode == 0, forced.stderr
    assert "WARNING" in forced.stderr and "--no-checksum" in forced.stderr
    assert cluster.sql("SELECT count(*) FROM issue_events_issue", live) == "10"


def test_a_swap_that_cannot_end_a_session_leaves_live_unchanged_and_accepting_connections(cluster, backups, live,
                                                                                          tmp_path):
    """The restoring role may not end a superuser's session: the swap cannot happen. It used to
    leave the live database refusing every connection, blaming reconnecting sessions."""
    cluster.sql("CREATE ROLE restorer LOGIN CREATEDB PASSWORD 'restorer'", "postgres")
    cluster.sql(f"ALTER DATABASE {live} OWNER TO restorer", "postgres")
    assert run(cluster, backups, "backup.sh", PGDATABASE=live).returncode == 0
    [dump] = backups.glob("live-*.dump")
    before = cluster.sql(FINGERPRINT, live)
    session = subprocess.Popen(["psql", "-X", "-c", "SELECT pg_sleep(60)"], env=cluster.env(backups, PGDATABASE=live),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while cluster.sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{live}'", "postgres") == "0":
            time.sleep(0.05)
        result = run(cluster, backups, "restore.sh", "--replace", str(dump), PGDATABASE=live, PGUSER="restorer",
                     PGPASSWORD="restorer", SWAP_WAIT_SECONDS="1", **checks_env(tmp_path))
        staged = "live_restoring" in cluster.databases()  # the checked copy waits for another try
    finally:
        session.kill()
        session.wait()
        cluster.sql("DROP DATABASE IF EXISTS live_restoring WITH (FORCE)", "postgres")
        cluster.sql("REASSIGN OWNED BY restorer TO glitchtip", "postgres")
        cluster.sql("DROP ROLE restorer", "postgres")
    assert staged and result.returncode != 0
    assert "did not end within 1 s" in result.stderr and "(glitchtip, psql, " in result.stderr
    assert "Nothing changed: live is live as before and accepts connections" in result.stderr
    assert "reconnecting" not in result.stderr
    assert "databases now: live (accepting connections); live_restoring (accepting connections)" in result.stderr
    assert allows_connections(cluster, live) and cluster.sql(FINGERPRINT, live) == before


def test_a_restore_waiting_on_a_stuck_session_gives_up_after_its_timeout(cluster, backups, live, tmp_path):
    assert run(cluster, backups, "backup.sh", PGDATABASE=live).returncode == 0
    [dump] = backups.glob("live-*.dump")
    stuck = subprocess.Popen(["psql", "-X", "-q", "-d", "postgres"], stdin=subprocess.PIPE, text=True,
                             env=cluster.env(backups), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stuck.stdin.write(f"BEGIN; ALTER DATABASE {live} WITH CONNECTION LIMIT 50;\n")  # and never commits
    stuck.stdin.flush()
    try:
        while cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'",
                          "postgres") == "0":
            time.sleep(0.05)
        started = time.monotonic()
        result = run(cluster, backups, "restore.sh", "--replace", str(dump), PGDATABASE=live,
                     RESTORE_LOCK_TIMEOUT_SECONDS="1", **checks_env(tmp_path))
        elapsed = time.monotonic() - started
    finally:
        stuck.kill()
        stuck.wait()
    assert result.returncode != 0 and elapsed < 30
    assert "lock timeout" in result.stderr
    assert f"nothing changed, {live} is live as before" in result.stderr
    assert allows_connections(cluster, live)


def test_a_dump_renamed_over_mid_check_is_not_what_gets_restored(cluster, backups, tmp_path):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [dump] = backups.glob("glitchtip-*.dump")
    other = tmp_path / "other.dump"
    cluster.sql("CREATE DATABASE other TEMPLATE glitchtip", "postgres")
    try:
        cluster.sql("DELETE FROM issue_events_issue WHERE id > 5", "other")
        subprocess.run(["pg_dump", "--format=custom", f"--file={other}", "other"], env=cluster.env(backups), check=True)
    finally:
        cluster.sql("DROP DATABASE other", "postgres")
    # The moment the content check starts, another dump is renamed over the verified one's name.
    tool(tmp_path / "bin", "pg_restore",
         f'case "$*" in *--list*) [ -f "{other}" ] && mv -f "{other}" "{dump}" ;; esac\nexec "$REAL" "$@"', cluster.path)
    result = run(cluster, backups, "restore.sh", str(dump), "glitchtip_copy",
                 PATH=f"{tmp_path / 'bin'}:{cluster.path}", **checks_env(tmp_path))
    try:
        assert result.returncode == 0, result.stderr
        assert not other.exists()  # the swap did happen
        assert cluster.sql(FINGERPRINT, "glitchtip_copy") == cluster.sql(FINGERPRINT)
    finally:
        cluster.sql("DROP DATABASE IF EXISTS glitchtip_copy", "postgres")


def test_secret_check_values_are_neither_on_a_command_line_nor_in_the_log(cluster, backups, tmp_path):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [dump] = backups.glob("glitchtip-*.dump")
    argv = tmp_path / "argv"
    recording(tmp_path / "bin", "psql", argv, cluster.path)
    env = {**checks_env(tmp_path, PROJECTS + ["secret-billing"]), "CHECKS_REDACT": "1",
           "PATH": f"{tmp_path / 'bin'}:{cluster.path}"}
    failed = run(cluster, backups, "restore.sh", str(dump), "glitchtip_secret", **env)
    try:
        assert failed.returncode != 0
        assert "project #3 of the configured list (set as a secret) is missing" in failed.stderr
        calls = argv.read_text()
        assert calls.count("---") >= 3  # psql ran, recorded
        for secret in (ORGANIZATION, "secret-billing", "web app"):
            assert secret not in failed.stderr + failed.stdout and secret not in calls
    finally:
        cluster.sql("DROP DATABASE IF EXISTS glitchtip_secret", "postgres")


# --- one backup at a time, and none lost to a name taken twice ----------------------------------

def test_backups_started_at_once_each_publish_their_own_dump_and_checksum(cluster, backups):
    runs = [subprocess.Popen(["sh", str(SCRIPTS / "backup.sh")], env=cluster.env(backups), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(r.wait(timeout=60), r.stderr.read()) for r in runs]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    dumps = daily(backups)
    assert len(dumps) == 3
    check = subprocess.run(["sha256sum", "-c", *[f"{d}.sha256" for d in dumps]], cwd=backups, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_dump_of_the_same_second_is_never_overwritten(cluster, backups):
    taken = [plant(backups, f"glitchtip-{stamp(-seconds / 86400)}.dump") for seconds in (0, 1)]
    contents = [p.read_bytes() for p in taken]
    result = run(cluster, backups, "backup.sh")
    assert result.returncode == 0, result.stderr
    assert [p.read_bytes() for p in taken] == contents
    assert len(daily(backups)) == 3


def test_a_second_backup_waits_for_the_first_or_stops_saying_who_holds_the_lock(cluster, backups, tmp_path):
    lock = backups / ".lock-glitchtip"
    with holding_lock(lock, "backup.sh (pid 41) since 2026-11-01T03:00:00Z"):
        stopped = run(cluster, backups, "backup.sh", LOCK_WAIT_SECONDS="1")
    assert stopped.returncode != 0
    assert "another backup of glitchtip still holds" in stopped.stderr and "pid 41" in stopped.stderr
    assert daily(backups) == []

    # The first run ends only once the second has said it waits: no sleep decides the order.
    said = tmp_path / "second.stderr"
    with holding_lock(lock, "backup.sh (pid 42)"), open(said, "w") as stderr:
        second = subprocess.Popen(["sh", str(SCRIPTS / "backup.sh")], env=cluster.env(backups, LOCK_WAIT_SECONDS="30"),
                                  stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 30
        while "is running" not in said.read_text() and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert second.wait(timeout=60) == 0, said.read_text()
    assert "another backup of glitchtip is running (backup.sh (pid 42))" in said.read_text()
    assert len(daily(backups)) == 1


def test_a_killed_backup_never_blocks_the_next_one(cluster, backups, tmp_path):
    tool(tmp_path / "bin", "pg_dump", "sleep 60", cluster.path)
    hung = subprocess.Popen(["sh", str(SCRIPTS / "backup.sh")], env=cluster.env(backups, PATH=f"{tmp_path / 'bin'}:{cluster.path}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lock = backups / ".lock-glitchtip"
    deadline = time.monotonic() + 10
    while not (lock.exists() and "backup.sh" in lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(hung.pid, signal.SIGKILL)  # the container killed (OOM, node lost): no trap runs
    hung.wait()
    result = run(cluster, backups, "backup.sh", LOCK_WAIT_SECONDS="2")
    assert result.returncode == 0, result.stderr
    assert len(daily(backups)) == 1


def test_a_dump_waiting_on_a_stuck_migration_gives_up_and_publishes_nothing(cluster, backups):
    migration = subprocess.Popen(["psql", "-X", "-q"], stdin=subprocess.PIPE, text=True, env=cluster.env(backups),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    migration.stdin.write("BEGIN; LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE;\n")
    migration.stdin.flush()
    try:
        while cluster.sql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = "
                          "'users_user'::regclass", "glitchtip") == "0":
            time.sleep(0.05)
        result = run(cluster, backups, "backup.sh", DUMP_LOCK_WAIT_SECONDS="1")
    finally:
        migration.kill()
        migration.wait()
    assert result.returncode != 0 and "pg_dump failed; nothing was published" in result.stderr
    assert daily(backups) == [] and not list(backups.glob(".partial-*"))


def test_a_backups_volume_the_tools_cannot_write_fails_saying_so(cluster, tmp_path):
    locked = tmp_path / "root-owned"
    locked.mkdir(mode=0o755)
    if os.geteuid() != 0:
        pytest.skip("needs root to run the script as another uid")
    import pwd
    account = pwd.getpwnam("nobody")

    def demote():
        os.setgid(account.pw_gid)
        os.setgroups([])
        os.setuid(account.pw_uid)
    result = subprocess.run(["sh", str(SCRIPTS / "backup.sh")], env=cluster.env(locked), capture_output=True,
                            text=True, timeout=60, preexec_fn=demote, cwd="/")
    assert result.returncode != 0
    assert f"cannot open the lock file {locked}/.lock-glitchtip" in result.stderr
    assert f"writable by uid {account.pw_uid}" in result.stderr
