"""The S3 store's buckets copied off-site beside the backup sets: declared through the real program,
and its script run for real with rclone (local directories standing in for both buckets)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from components.apps.sentry.operations import OFFSITE_OBJECTS_SCRIPT
from tests.harness import deploy, env_of
from tests.secret_values import plain_strings

STORAGE_SECRET = "c2VjcmV0LWtleS1leGFtcGxl"
OFFSITE = {"endpoint": "https://s3.example.com", "bucket": "backups", "prefix": "errors",
           "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": STORAGE_SECRET}
SENTRY = {"app": "sentry", "backup": {"offsite": OFFSITE}}
GENERATED_KEY = ("0123456789abcdef" * 3)[:40]  # the mocks' object store secret key
SHELLS = [("sh",)] + ([("busybox", "sh")] if shutil.which("busybox") else [])


def test_the_bundled_stores_buckets_follow_the_dumps_off_site():
    deployment = deploy(SENTRY, secret_keys=("backup",))
    copy = deployment.containers()["sentry-offsite-objects"]
    env = env_of(copy)
    assert (env["OBJECT_BUCKETS"], env["EXPIRING_BUCKETS"], env["EXPIRY_DAYS"]) == ("nodestore", "nodestore", "90")
    assert env["RCLONE_CONFIG_STORE_ENDPOINT"] == "http://seaweedfs:8333"
    assert env["RCLONE_CONFIG_OFFSITE_ENDPOINT"] == "https://s3.example.com" and env["OFFSITE_PREFIX"] == "errors"
    assert env["RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY"] == GENERATED_KEY
    assert copy.secret("envs") and not [s for s in plain_strings(copy.raw) if GENERATED_KEY in s or STORAGE_SECRET in s]
    assert copy.inputs["image"] == deployment.containers()["sentry-offsite"].inputs["image"]  # the same rclone
    assert deployment.containers()["sentry-seaweedfs"].urn in copy.dependencies
    assert not copy.inputs.get("volumes")  # nothing of the backups volume: it reads the store only


def test_without_an_off_site_remote_or_a_bundled_store_there_is_nothing_to_copy():
    assert "sentry-offsite-objects" not in deploy({"app": "sentry"}).containers()
    s3 = {"endpointUrl": "https://s3.example.com", "accessKeyId": "AKIA", "secretAccessKey": "x"}
    external = deploy({**SENTRY, "sentry": {"external": {"s3": s3}}}, secret_keys=("sentry", "backup"))
    assert "sentry-offsite-objects" not in external.containers()


# --- the script, for real ----------------------------------------------------------------------

def _aged(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is not installed: apt-get install rclone")
@pytest.mark.parametrize("shell", SHELLS, ids=lambda shell: shell[0])
def test_the_copy_keeps_files_and_expires_payloads_as_the_buckets_do(tmp_path, shell):
    store, remote = tmp_path / "store", tmp_path / "remote"
    (store / "nodestore" / "nodestore").mkdir(parents=True)
    (store / "files").mkdir()
    (store / "nodestore" / "nodestore" / "new-event").write_text("payload")
    (store / "files" / "old-upload").write_text("source map")
    _aged(store / "files" / "old-upload", 400)
    expired = remote / "errors" / "sentry-objects" / "nodestore" / "nodestore" / "expired-event"
    expired.parent.mkdir(parents=True)
    expired.write_text("old payload")
    _aged(expired, 91)

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RCLONE_RETRIES": "1",
           # the two remotes as the task configures them, but local directories
           "RCLONE_CONFIG_STORE_TYPE": "local", "RCLONE_CONFIG_OFFSITE_TYPE": "local",
           "OFFSITE_BUCKET": str(remote), "OFFSITE_PREFIX": "errors", "OBJECT_BUCKETS": "nodestore files",
           "EXPIRING_BUCKETS": "nodestore", "EXPIRY_DAYS": "90"}
    result = subprocess.run([*shell, "-c", OFFSITE_OBJECTS_SCRIPT], env=env, cwd=store, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    copied = remote / "errors" / "sentry-objects"
    assert (copied / "nodestore" / "nodestore" / "new-event").read_text() == "payload"
    assert (copied / "files" / "old-upload").read_text() == "source map"  # files never expire
    assert not expired.exists()  # payloads past the retention go there as here

    # a store that cannot be read fails the run (the CronJob or the container's log says so)
    shutil.rmtree(store / "files")
    failed = subprocess.run([*shell, "-c", OFFSITE_OBJECTS_SCRIPT], env=env, cwd=store, capture_output=True,
                            text=True, timeout=60)
    assert failed.returncode != 0
