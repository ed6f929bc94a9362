"""The ClickHouse backup, drill, pre-upgrade and restore scripts, run for real against ClickHouse.

No ClickHouse server runs here: tests/clickhouse_server.py serves ClickHouse embedded by chdb to a
stand-in `clickhouse-client` (faults: test_sentry_operations_faults.py). Proven here: the statements (BACKUP/RESTORE ... ASYNC, system.backups,
RESTORE AS, RENAME DATABASE), the archives, the pairing with Postgres dumps, the sets, the checks,
retention. Not proven: the real clickhouse-client's option parsing and the native protocol, the
25.3 server, file ownership on a real volume (uid 101).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from components.operations import describe
from tests.clickhouse_server import DATABASE, ch, server  # noqa: F401 (the fixtures)

SCRIPTS = Path(describe.__file__).parent / "scripts"


def run(server, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPTS / script), *args], env={**server.env, **env},
                          capture_output=True, text=True, timeout=60)


def dump(server, name: str, age_seconds: float = 0) -> Path:
    """A verified Postgres dump as backup.sh leaves it (the scripts here only look at its name)."""
    path = server.backups / name
    path.write_bytes(b"PGDMP fake dump")
    if age_seconds:
        stamp = time.time() - age_seconds
        os.utime(path, (stamp, stamp))
    return path


def utc(offset_seconds: float = 0) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + offset_seconds))


def sets(server) -> list[Path]:
    return sorted(server.backups.glob("sentry-*.set"))


def value(set_file: Path, key: str) -> str:
    return next(line.split("=", 1)[1] for line in set_file.read_text().splitlines() if line.startswith(f"{key}="))


# --- the nightly backup ---------------------------------------------------------------------------

def test_the_backup_pairs_with_this_runs_dump_and_writes_the_set_last(ch):
    dump(ch, f"postgres-{utc(-3600 * 25)}.dump")  # yesterday's: not this run's
    this_run = dump(ch, f"postgres-{utc(-60)}.dump")
    result = run(ch, "clickhouse_backup.sh")
    assert result.returncode == 0, result.stderr
    (set_file,) = sets(ch)
    archive = ch.backups / value(set_file, "clickhouse")
    assert value(set_file, "postgres") == this_run.name
    assert archive.name.startswith("clickhouse-") and archive.suffix == ".tar"
    # The set comes after the archive it names; the archive is verified and checksummed.
    assert set_file.stat().st_mtime >= archive.stat().st_mtime
    assert subprocess.run(["sha256sum", "-c", archive.name + ".sha256"], cwd=ch.backups).returncode == 0
    assert ".backup" in subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True).stdout.split()
    counts = dict(line.split("\t") for line in (ch.backups / f"{archive.name}.tables").read_text().splitlines())
    assert counts["errors_local"] == "5000" and counts["outcomes_raw_local"] == "0"
    assert (ch.backups / ".last-clickhouse-backup-ok").exists()
    assert not list(ch.backups.glob(".partial-*"))
    # Every statement went to the configured server; the password never rode on argv.
    assert set(ch.seen) == {("clickhouse", "9000")}
    assert "app_version=26.8.0" in set_file.read_text()


def test_the_backup_waits_while_the_postgres_dump_is_being_written(ch):
    partial = ch.backups / f".partial-77-postgres-{utc()}.dump"
    partial.write_bytes(b"PGDMP half")

    def finish():
        time.sleep(0.6)
        partial.rename(ch.backups / partial.name.split("-", 2)[2])

    threading.Thread(target=finish).start()
    result = run(ch, "clickhouse_backup.sh", PAIR_GRACE_SECONDS="0")  # only the dump in progress holds it
    assert result.returncode == 0, result.stderr
    (set_file,) = sets(ch)
    assert value(set_file, "postgres") == partial.name.split("-", 2)[2]


def test_without_a_dump_of_this_run_the_archive_is_kept_but_no_set_is_written(ch):
    dump(ch, f"postgres-{utc(-3600 * 5)}.dump")  # hours old: another run's
    result = run(ch, "clickhouse_backup.sh")
    assert result.returncode == 1
    assert sets(ch) == [] and len(list(ch.backups.glob("clickhouse-*.tar"))) == 1
    assert "no Postgres dump of this run" in (ch.backups / ".last-clickhouse-backup-failed").read_text()


def test_with_postgres_external_the_set_says_so(ch):
    result = run(ch, "clickhouse_backup.sh", PAIR_POSTGRES="")
    assert result.returncode == 0, result.stderr
    (set_file,) = sets(ch)
    assert value(set_file, "postgres").startswith("external")


def test_a_failed_backup_publishes_nothing_and_records_why(ch):
    dump(ch, f"postgres-{utc(-60)}.dump")
    result = run(ch, "clickhouse_backup.sh", CLICKHOUSE_PASSWORD="wrong")
    assert result.returncode != 0
    assert sets(ch) == [] and not list(ch.backups.glob("clickhouse-*"))
    assert (ch.backups / ".last-clickhouse-backup-failed").exists()


def test_retention_removes_old_archives_and_the_sets_that_named_them(ch):
    old = f"clickhouse-{utc(-86400 * 40)}.tar"
    for suffix in ("", ".sha256", ".tables"):
        (ch.backups / (old + suffix)).write_text("old")
        os.utime(ch.backups / (old + suffix), (time.time() - 86400 * 40,) * 2)
    old_set = ch.backups / f"sentry-{utc(-86400 * 40)}.set"
    old_set.write_text(f"postgres=postgres-old.dump\nclickhouse={old}\n")
    dump(ch, f"postgres-{utc(-60)}.dump")
    # One day kept, and one newer verified archive is enough: the new one (the counts are the
    # faults suite's, test_sentry_operations_faults.py).
    assert run(ch, "clickhouse_backup.sh", RETENTION_DAYS="1", RETENTION_KEEP="1").returncode == 0
    assert not (ch.backups / old).exists() and not (ch.backups / f"{old}.tables").exists()
    assert not old_set.exists() and len(sets(ch)) == 1


# --- the drill ------------------------------------------------------------------------------------

def test_the_drill_restores_the_newest_sets_archive_checks_it_and_drops_it(ch):
    dump(ch, f"postgres-{utc(-60)}.dump")
    assert run(ch, "clickhouse_backup.sh").returncode == 0
    result = run(ch, "clickhouse_drill.sh")
    assert result.returncode == 0, result.stderr
    ok = (ch.backups / ".last-clickhouse-drill-ok").read_text()
    assert value(sets(ch)[0], "clickhouse") in ok
    assert ch.sql("SELECT count() FROM system.databases WHERE startsWith(name, 'drill_')") == "0"


def test_the_drill_fails_when_a_table_comes_back_empty(ch):
    dump(ch, f"postgres-{utc(-60)}.dump")
    assert run(ch, "clickhouse_backup.sh").returncode == 0
    archive = value(sets(ch)[0], "clickhouse")
    counts = ch.backups / f"{archive}.tables"
    # The backup recorded rows in outcomes_raw_local: the (empty) restored copy must be caught.
    counts.write_text(counts.read_text().replace("outcomes_raw_local\t0", "outcomes_raw_local\t12"))
    result = run(ch, "clickhouse_drill.sh")
    assert result.returncode == 1
    assert "outcomes_raw_local had 12 rows and came back empty" in (ch.backups / ".last-clickhouse-drill-failed").read_text()
    assert ch.sql("SELECT count() FROM system.databases WHERE startsWith(name, 'drill_')") == "0"


def test_the_drill_refuses_a_damaged_archive(ch):
    dump(ch, f"postgres-{utc(-60)}.dump")
    assert run(ch, "clickhouse_backup.sh").returncode == 0
    archive = ch.backups / value(sets(ch)[0], "clickhouse")
    archive.write_bytes(archive.read_bytes()[:-2048])
    result = run(ch, "clickhouse_drill.sh")
    assert result.returncode == 1 and "failed verification" in result.stderr


def test_on_a_fresh_install_the_drill_takes_a_backup_first(ch):
    result = run(ch, "clickhouse_drill.sh")
    assert result.returncode == 0, result.stderr
    assert (ch.backups / ".last-clickhouse-drill-ok").exists() and len(list(ch.backups.glob("clickhouse-*.tar"))) == 1


# --- before an upgrade, and the runbook -------------------------------------------------------------

def test_a_version_change_backs_up_and_pairs_with_the_postgres_pre_upgrade_dump(ch):
    (ch.backups / ".clickhouse-app-version").write_text("26.7.0\n")
    pre = dump(ch, f"postgres-pre-upgrade-from-26.7.0-{utc(-30)}.dump")
    result = run(ch, "clickhouse_pre_upgrade.sh", APP_VERSION="26.8.0")
    assert result.returncode == 0, result.stderr
    (set_file,) = sets(ch)
    assert set_file.name.startswith("sentry-pre-upgrade-from-26.7.0-")
    assert value(set_file, "postgres") == pre.name
    assert value(set_file, "clickhouse").startswith("clickhouse-pre-upgrade-from-26.7.0-")
    assert (ch.backups / ".clickhouse-app-version").read_text().strip() == "26.8.0"
    # The same version again: nothing to do.
    assert run(ch, "clickhouse_pre_upgrade.sh", APP_VERSION="26.8.0").returncode == 0
    assert len(list(ch.backups.glob("clickhouse-*.tar"))) == 1


def test_a_fresh_install_needs_no_pre_upgrade_backup(ch):
    ch.sql(f"DROP DATABASE {DATABASE} SYNC")
    ch.sql(f"CREATE DATABASE {DATABASE} ENGINE = Atomic")
    assert run(ch, "clickhouse_pre_upgrade.sh").returncode == 0
    assert not list(ch.backups.glob("clickhouse-*")) and (ch.backups / ".clickhouse-app-version").exists()


def test_the_runbook_restore_swaps_the_set_in_and_keeps_the_old_database(ch):
    dump(ch, f"postgres-{utc(-60)}.dump")
    assert run(ch, "clickhouse_backup.sh").returncode == 0
    ch.sql(f"TRUNCATE TABLE {DATABASE}.errors_local")  # the disaster
    result = run(ch, "clickhouse_restore.sh", str(sets(ch)[0]))
    assert result.returncode == 0, result.stderr
    assert ch.sql(f"SELECT count() FROM {DATABASE}.errors_local") == "5000"
    (kept,) = ch.sql(f"SELECT name FROM system.databases WHERE startsWith(name, '{DATABASE}_before_')").split()
    assert ch.sql(f"SELECT count() FROM {kept}.errors_local") == "0"
