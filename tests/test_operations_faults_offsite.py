"""offsite.sh broken on purpose, for real with rclone: an unreachable S3 endpoint while the backups
volume is full (a tmpfs), a rollback dump older than the retention, a clock a year ahead of every
file, and a new, nearly empty volume facing a bucket full of history."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from components.operations import describe
from components.operations.watchdog import checks
from tests.fault_tools import fill, plant, set_age, small_filesystem, stamp
from tests.test_operations_offsite import site  # noqa: F401 (the fixture: a backups volume and a bucket)

SCRIPTS = Path(describe.__file__).parent / "scripts"
pytestmark = pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is not installed: apt-get install rclone")
# The rclone image is Alpine: its /bin/sh is BusyBox ash.
SHELL = ("busybox", "sh") if shutil.which("busybox") else ("sh",)


def offsite(backups: Path, bucket: Path, **extra: str) -> subprocess.CompletedProcess:
    """offsite.sh with the remote `offsite` a local directory, as test_operations_offsite.py runs it."""
    env = {
        "PATH": os.environ["PATH"], "HOME": str(backups.parent),
        "RCLONE_CONFIG_OFFSITE_TYPE": "local", "RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "1",
        "BACKUP_NAME": "glitchtip", "BACKUP_DIR": str(backups), "OFFSITE_BUCKET": str(bucket),
        "RETENTION_DAYS": "30", **extra,
    }
    return subprocess.run([*SHELL, str(SCRIPTS / "offsite.sh")], env=env, capture_output=True, text=True, timeout=60)


def unreachable_s3() -> dict[str, str]:
    """The S3 remote as the deployed task configures it, at an address nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"RCLONE_CONFIG_OFFSITE_TYPE": "s3", "RCLONE_CONFIG_OFFSITE_PROVIDER": "Other",
            "RCLONE_CONFIG_OFFSITE_ENDPOINT": f"http://127.0.0.1:{port}", "RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID": "key",
            "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY": "secret", "OFFSITE_BUCKET": "backups"}


def healthy(backups: Path) -> bool:
    return subprocess.run([*SHELL, str(SCRIPTS / "health.sh"), "result", "offsite", "26"],
                          env={"PATH": os.environ["PATH"], "BACKUP_DIR": str(backups)}).returncode == 0


def test_a_failure_on_a_full_volume_is_still_recorded_and_alerted(tmp_path):
    with small_filesystem(tmp_path / "backups", 256) as backups:
        plant(backups, f"glitchtip-{stamp(0.1)}.dump", 0.1)
        (backups / ".last-offsite-ok").write_text("yesterday: 1 dump copied\n")
        set_age(backups / ".last-offsite-ok", 1)
        (backups / ".last-offsite-failed").write_text("a week ago: an old reason\n")
        set_age(backups / ".last-offsite-failed", 7)
        assert healthy(backups)
        fill(backups)
        result = offsite(backups, tmp_path / "bucket", **unreachable_s3())
        assert result.returncode != 0
        assert "upload to offsite:backups failed" in result.stderr and "records the time only" in result.stderr
        failed = backups / ".last-offsite-failed"
        assert failed.stat().st_mtime > (backups / ".last-offsite-ok").stat().st_mtime
        assert failed.read_text() == ""  # no block to write the reason in; the old reason is gone
        assert not healthy(backups)
        seen = checks.job_result(str(backups), "offsite", 26, failed.stat().st_mtime + 1)
        assert not seen.ok and "no reason recorded: the backups volume was full" in seen.detail


def test_the_newest_pre_upgrade_dump_is_sent_however_old_and_kept_there(site):
    backups, bucket = site
    rollback = plant(backups, f"glitchtip-pre-upgrade-from-6.0.0-{stamp(100)}.dump", 100)
    for day in (0.1, 1.1, 2.1):
        plant(backups, f"glitchtip-{stamp(day)}.dump", day)
    result = offsite(backups, bucket)
    assert result.returncode == 0, result.stderr
    assert (bucket / rollback.name).exists() and (bucket / f"{rollback.name}.sha256").exists()
    gone_here = plant(bucket, f"glitchtip-{stamp(45)}.dump", 45)  # local retention removed it long ago
    set_age(bucket / rollback.name, 100)
    again = offsite(backups, bucket)
    assert again.returncode == 0, again.stderr
    assert (bucket / rollback.name).exists(), "the rollback point was deleted off-site"
    assert not gone_here.exists() and not (bucket / f"{gone_here.name}.sha256").exists()


def test_a_clock_a_year_ahead_deletes_nothing_off_site_that_the_volume_still_holds(site):
    backups, bucket = site
    local = [plant(backups, f"glitchtip-{stamp(day)}.dump", day) for day in range(365, 370)]
    for path in local:
        plant(bucket, path.name, 366)  # their copies, as old
    extra = plant(bucket, f"glitchtip-{stamp(400)}.dump", 400)
    result = offsite(backups, bucket)
    assert result.returncode == 0, result.stderr
    assert all((bucket / path.name).exists() for path in local)
    assert not extra.exists()


def test_a_new_or_lost_volume_never_empties_the_bucket(site):
    backups, bucket = site
    plant(backups, f"glitchtip-{stamp(0.1)}.dump", 0.1)  # the first dump on a new host
    history = [plant(bucket, f"glitchtip-{stamp(day)}.dump", day) for day in range(40, 50)]
    result = offsite(backups, bucket)
    assert result.returncode == 0, result.stderr
    assert all(path.exists() for path in history)
    assert "keeping every remote copy" in result.stderr
