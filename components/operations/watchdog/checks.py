"""Checks that need no API: an HTTP endpoint, files on shared volumes, free disk space.

Each check returns a state.Result; none raises. File names follow the backup scripts
(components/operations/scripts): `<db>-*.dump` are verified dumps, `.last-<job>-ok` and
`.last-<job>-failed` record the last drill and off-site copy.
"""

from __future__ import annotations

import glob
import os
import time
import urllib.error
import urllib.request
from typing import Optional

from .state import Result


def http_ok(url: str, timeout: float = 10) -> Result:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return Result(True, f"{url} answered {response.status}")
    except urllib.error.HTTPError as error:
        return Result(False, f"{url} answered HTTP {error.code}")
    except (urllib.error.URLError, OSError) as error:
        return Result(False, f"{url} unreachable: {getattr(error, 'reason', error)}")


def _age(path: str, now: float) -> Optional[float]:
    try:
        return now - os.stat(path).st_mtime
    except OSError:
        return None


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def heartbeat(path: str, max_age_seconds: int, now: float) -> Result:
    """The worker touches its heartbeat file while its loop runs (vtasks --health-check-file)."""
    age = _age(path, now)
    if age is None:
        return Result(False, f"no heartbeat file {path}: the worker is not running")
    if age > max_age_seconds:
        return Result(False, f"worker heartbeat is {int(age)} s old (limit {max_age_seconds} s): stuck or stopped")
    return Result(True, f"worker heartbeat {int(age)} s old")


def newest_backup(directory: str, name: str, max_age_hours: int, now: float) -> Result:
    dumps = [(p, _age(p, now)) for p in glob.glob(os.path.join(directory, f"{glob.escape(name)}-*.dump"))]
    dumps = [(p, a) for p, a in dumps if a is not None]
    if not dumps:
        return Result(False, f"no backup of {name} in {directory}")
    path, age = min(dumps, key=lambda item: item[1])
    if age > max_age_hours * 3600:
        return Result(False, f"newest backup {os.path.basename(path)} is {_hours(age)} old (limit {max_age_hours} h)")
    return Result(True, f"newest backup {os.path.basename(path)} is {_hours(age)} old")


def job_result(directory: str, job: str, max_age_hours: int, now: float) -> Result:
    """A job that records `.last-<job>-ok` / `.last-<job>-failed`: its last run succeeded, recently."""
    ok_path = os.path.join(directory, f".last-{job}-ok")
    failed_path = os.path.join(directory, f".last-{job}-failed")
    ok_age, failed_age = _age(ok_path, now), _age(failed_path, now)
    if failed_age is not None and (ok_age is None or failed_age < ok_age):
        return Result(False, f"last {job} failed: {_first_line(failed_path)}")
    if ok_age is None:
        return Result(False, f"no successful {job} recorded yet")
    if ok_age > max_age_hours * 3600:
        return Result(False, f"last successful {job} is {_hours(ok_age)} old (limit {max_age_hours} h)")
    return Result(True, f"last {job} ok: {_first_line(ok_path)}")


def disk_free(path: str, minimum_percent: int) -> Result:
    """Free space of the file system holding `path` (on Docker: the host's volume disk)."""
    try:
        stats = os.statvfs(path)
    except OSError as error:
        return Result(False, f"cannot read free space of {path}: {error}")
    if not stats.f_blocks:
        return Result(True, f"{path}: size unknown")
    percent = 100.0 * stats.f_bavail / stats.f_blocks
    free_gb = stats.f_bavail * stats.f_frsize / 1e9
    detail = f"{percent:.0f}% ({free_gb:.1f} GB) free on the disk of {path}"
    if percent < minimum_percent:
        return Result(False, f"{detail} (minimum {minimum_percent}%)")
    return Result(True, detail)


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip()[:300]
    except OSError:
        return "(unreadable)"


def docker_checks(config, now: Optional[float] = None) -> dict[str, Result]:
    """Everything the Docker-mode watchdog checks, by check name."""
    now = time.time() if now is None else now
    results: dict[str, Result] = {}
    if config.health_url:
        results["web"] = http_ok(config.health_url)
    if config.heartbeat_file:
        results["worker"] = heartbeat(config.heartbeat_file, config.heartbeat_max_age_seconds, now)
    if config.backup_dir and config.backup_name:
        results["backup"] = newest_backup(config.backup_dir, config.backup_name, config.backup_max_age_hours, now)
        if config.drill_max_age_days:
            results["drill"] = job_result(config.backup_dir, "drill", config.drill_max_age_days * 24, now)
        if config.offsite_max_age_hours:
            results["offsite"] = job_result(config.backup_dir, "offsite", config.offsite_max_age_hours, now)
    for job, max_age_hours in config.results.items():
        directory = config.result_dirs.get(job) or (config.backup_dir if config.backup_name else None)
        if directory:
            results[job] = job_result(directory, job, max_age_hours, now)
    if config.disk_free_percent:
        # The backups volume when there is one; otherwise the watchdog's own, on the same disk.
        path = config.backup_dir or os.path.dirname(config.state_file)
        results["disk"] = disk_free(path, config.disk_free_percent)
    return results
