"""offsite.sh run for real with rclone, against rclone's local backend standing in for the bucket.
Faults (unreachable remote, full volume, clocks, lost volume): test_operations_faults_offsite.py.

The script's flags, includes, remote retention and status files are what is tested; the S3
backend itself is rclone's (the same script was run by hand against an S3 API, see the report).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from components.operations import describe
from tests.fault_tools import plant, stamp

SCRIPT = Path(describe.__file__).parent / "scripts" / "offsite.sh"
HEALTH = Path(describe.__file__).parent / "scripts" / "health.sh"
pytestmark = pytest.mark.skipif(shutil.which("rclone") is None,
                                reason="rclone is not installed: apt-get install rclone")
# The rclone image is Alpine: its /bin/sh is BusyBox ash. Run the scripts there too when we can.
SHELLS = [("sh",)] + ([("busybox", "sh")] if shutil.which("busybox") else [])


def _age(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


@pytest.fixture(params=SHELLS, ids=lambda shell: shell[0])
def shell(request):
    return request.param


@pytest.fixture
def site(tmp_path):
    backups, bucket = tmp_path / "backups", tmp_path / "bucket"
    backups.mkdir()
    bucket.mkdir()
    return backups, bucket


def run(shell, backups: Path, bucket: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"], "HOME": str(backups.parent),
        # The remote "offsite" as the deployed task configures it, but a local directory.
        "RCLONE_CONFIG_OFFSITE_TYPE": "local",
        "RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "1",
        "BACKUP_NAME": "glitchtip", "BACKUP_DIR": str(backups), "OFFSITE_BUCKET": str(bucket),
        "OFFSITE_PREFIX": "errors/glitchtip", "RETENTION_DAYS": "30", **extra,
    }
    return subprocess.run([*shell, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def healthy(shell, backups: Path) -> bool:
    result = subprocess.run([*shell, str(HEALTH), "result", "offsite", "26"],
                            env={"PATH": os.environ["PATH"], "BACKUP_DIR": str(backups)})
    return result.returncode == 0


def test_verified_dumps_and_their_checksums_are_copied_and_nothing_else(shell, site):
    backups, bucket = site
    for name in ("glitchtip-20261101T030000Z.dump", "glitchtip-20261101T030000Z.dump.sha256",
                 ".partial-12-glitchtip-20261102T030000Z.dump", "other-20261101T030000Z.dump"):
        (backups / name).write_text(name)
    result = run(shell, backups, bucket)
    assert result.returncode == 0, result.stderr
    remote = bucket / "errors" / "glitchtip"
    assert sorted(p.name for p in remote.iterdir()) == [
        "glitchtip-20261101T030000Z.dump", "glitchtip-20261101T030000Z.dump.sha256"]
    assert "1 dumps here, all copied to" in (backups / ".last-offsite-ok").read_text()
    assert healthy(shell, backups)


def test_remote_copies_older_than_the_retention_are_deleted(shell, site):
    backups, bucket = site
    for day in (0.1, 1.1, 2.1):  # three verified dumps here: enough for remote retention to run
        plant(backups, f"glitchtip-{stamp(day)}.dump", day)
    remote = bucket / "errors" / "glitchtip"
    remote.mkdir(parents=True)
    old, kept = remote / "glitchtip-20200101T030000Z.dump", remote / "glitchtip-20261020T030000Z.dump"
    for path, days in ((old, 40), (kept, 20)):
        path.write_text("x")
        _age(path, days)
    result = run(shell, backups, bucket)
    assert result.returncode == 0, result.stderr
    assert not old.exists() and kept.exists()


def test_remote_copies_are_all_kept_when_no_recent_dump_exists_here(shell, site):
    backups, bucket = site
    stale = backups / "glitchtip-20200101T030000Z.dump"
    stale.write_text("old")
    _age(stale, 45)
    remote = bucket / "errors" / "glitchtip"
    remote.mkdir(parents=True)
    last = remote / "glitchtip-20200101T030000Z.dump"
    last.write_text("x")
    _age(last, 45)
    result = run(shell, backups, bucket)
    assert result.returncode == 0, result.stderr
    assert last.exists()
    assert "keeping every remote copy" in result.stderr


def test_a_failed_upload_is_recorded_and_leaves_the_local_backups_alone(shell, site):
    backups, bucket = site
    dump = backups / "glitchtip-20261101T030000Z.dump"
    dump.write_text("dump")
    (backups / ".last-offsite-ok").write_text("yesterday\n")
    _age(backups / ".last-offsite-ok", 1)
    blocker = bucket / "errors"
    blocker.write_text("a file where the prefix directory must go")  # the remote refuses writes
    result = run(shell, backups, bucket)
    assert result.returncode != 0
    assert "upload to" in (backups / ".last-offsite-failed").read_text()
    assert dump.read_text() == "dump"
    assert not healthy(shell, backups)


def test_sentry_sends_its_clickhouse_archives_and_each_set_after_the_files_it_names(shell, site):
    backups, bucket = site
    names = ("postgres-20261101T030000Z.dump", "clickhouse-20261101T030500Z.tar",
             "clickhouse-20261101T030500Z.tar.sha256", "clickhouse-20261101T030500Z.tar.tables",
             "sentry-20261101T030500Z.set", ".partial-clickhouse-20261102T030500Z.tar")
    for name in names:
        (backups / name).write_text(name)
    # rclone, recording each call: the sets must go in a pass of their own, after the data.
    tools, calls = backups.parent / "tools", backups.parent / "calls"
    tools.mkdir()
    (tools / "rclone").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {shutil.which("rclone")} "$@"\n')
    (tools / "rclone").chmod(0o755)
    result = run(shell, backups, bucket, BACKUP_NAME="postgres", OFFSITE_PREFIX="errors/sentry",
                 OFFSITE_INCLUDE="clickhouse-*.tar clickhouse-*.tar.sha256 clickhouse-*.tar.tables",
                 OFFSITE_LAST="sentry-*.set", PATH=f"{tools}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    remote = bucket / "errors" / "sentry"
    assert sorted(p.name for p in remote.iterdir()) == sorted(names[:5])
    copies = [line for line in calls.read_text().splitlines() if line.startswith("copy ")]
    assert len(copies) == 2 and "sentry-*.set" not in copies[0] and "--include sentry-*.set" in copies[1]
    assert "clickhouse-*.tar" not in copies[1]
