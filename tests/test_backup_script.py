"""The daily backup: a compressed pg_dump, checked with gzip -t, and 30-day retention (run for real
with a stand-in pg_dump that writes what pg_dump -Z would: gzip data)."""

import os
import subprocess
import time
from pathlib import Path

from components import stores
from components.stores import Database

FAKE_PG_DUMP = """#!/bin/sh
out=""
while [ $# -gt 0 ]; do case "$1" in -f) out="$2"; shift;; esac; shift; done
[ -n "${FAIL:-}" ] && exit 1
printf 'CREATE TABLE t();\\n' | gzip > "$out"
"""


def run_backup(tmp_path: Path, **extra_env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pg_dump").write_text(FAKE_PG_DUMP)
    (bin_dir / "pg_dump").chmod(0o755)
    backups = tmp_path / "backups"
    backups.mkdir(exist_ok=True)
    script = stores.backup_script(Database("glitchtip", "glitchtip", "pw"), 30).replace(stores.BACKUP_DIR, str(backups))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **extra_env}
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True), backups


def test_a_backup_is_written_and_verified(tmp_path):
    result, backups = run_backup(tmp_path)
    assert result.returncode == 0, result.stderr
    files = list(backups.glob("glitchtip-*.sql.gz"))
    assert len(files) == 1
    assert not list(backups.glob("*.partial"))


def test_backups_older_than_the_retention_are_removed_and_newer_kept(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    old, recent = backups / "glitchtip-old.sql.gz", backups / "glitchtip-recent.sql.gz"
    for path, days in ((old, 40), (recent, 10)):
        path.write_bytes(b"")
        stamp = time.time() - days * 86400
        os.utime(path, (stamp, stamp))
    result, _ = run_backup(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not old.exists() and recent.exists()


def test_a_failed_dump_fails_the_run_and_leaves_no_backup_file(tmp_path):
    result, backups = run_backup(tmp_path, FAIL="1")
    assert result.returncode != 0
    assert not list(backups.glob("glitchtip-*.sql.gz"))
