"""Checks that need no API: an HTTP endpoint, files on shared volumes, free disk space.

Each check returns a state.Result; none raises (docker_checks guards each one: a check that
breaks fails alone). File names follow the backup scripts (components/operations/scripts):
`<db>-*.dump` with a `.sha256` beside it are verified dumps (backup_lib.sh: untrusted), and
`.last-<job>-ok` and `.last-<job>-failed` record the last drill, off-site copy and the like. A
file dated in the future (a clock that jumped) never counts as recent.
"""

from __future__ import annotations

import glob
import http.client
import os
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from .state import Result

# As the scripts' CLOCK_SLACK_SECONDS: a file dated further ahead than this is not trusted.
CLOCK_SLACK_SECONDS = 300


def http_ok(url: str, timeout: float = 10) -> Result:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return Result(True, f"{url} answered {response.status}")
    except urllib.error.HTTPError as error:
        return Result(False, f"{url} answered HTTP {error.code}")
    except (urllib.error.URLError, OSError) as error:
        return Result(False, f"{url} unreachable: {getattr(error, 'reason', error)}")
    except (http.client.HTTPException, ValueError) as error:
        return Result(False, f"{url} answered something that is not HTTP ({type(error).__name__})")


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


def _untrusted(path: str, age: Optional[float]) -> Optional[str]:
    """Why a dump does not count, as the scripts' `untrusted` says it, or None."""
    try:
        if age is None or os.stat(path).st_size == 0:
            return "is empty or gone"
    except OSError:
        return "is empty or gone"
    try:
        if os.stat(f"{path}.sha256").st_size == 0:
            return "has an empty checksum file"
    except OSError:
        return "has no checksum file"
    if age < -CLOCK_SLACK_SECONDS:
        return f"is dated {_hours(-age)} in the future"
    return None


def newest_backup(directory: str, name: str, max_age_hours: int, now: float) -> Result:
    dumps = [(p, _age(p, now)) for p in glob.glob(os.path.join(directory, f"{glob.escape(name)}-*.dump"))]
    passed_over = [(p, why) for p, a in dumps if (why := _untrusted(p, a))]
    dumps = [(p, a) for p, a in dumps if a is not None and not _untrusted(p, a)]
    if not dumps:
        ignored = "; ".join(f"{os.path.basename(p)} {why}" for p, why in passed_over[:3])
        return Result(False, f"no trusted backup of {name} in {directory}" + (f" (ignored: {ignored})" if ignored else ""))
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
        reason = _first_line(failed_path) or "(no reason recorded: the backups volume was full)"
        return Result(False, f"last {job} failed: {reason}")
    if ok_age is None:
        return Result(False, f"no successful {job} recorded yet")
    if ok_age < -CLOCK_SLACK_SECONDS:
        return Result(False, f"the last successful {job} is dated {_hours(-ok_age)} in the future: a clock is wrong")
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


def guarded(check: Callable[[], Result]) -> Result:
    """A check's result; a check that raises fails alone, saying how (its siblings still run)."""
    try:
        return check()
    except Exception as error:  # noqa: BLE001 - one broken check must not silence the others
        return Result(False, f"the check itself failed: {type(error).__name__}: {str(error)[:200]}")


def docker_checks(config, now: Optional[float] = None) -> dict[str, Result]:
    """Everything the Docker-mode watchdog checks, by check name."""
    now = time.time() if now is None else now
    checks: dict[str, Callable[[], Result]] = {}
    if config.health_url:
        checks["web"] = lambda: http_ok(config.health_url, config.check_timeout_seconds)
    if config.heartbeat_file:
        checks["worker"] = lambda: heartbeat(config.heartbeat_file, config.heartbeat_max_age_seconds, now)
    if config.backup_dir and config.backup_name:
        checks["backup"] = lambda: newest_backup(config.backup_dir, config.backup_name,
                                                 config.backup_max_age_hours, now)
        if config.drill_max_age_days:
            checks["drill"] = lambda: job_result(config.backup_dir, "drill", config.drill_max_age_days * 24, now)
        if config.offsite_max_age_hours:
            checks["offsite"] = lambda: job_result(config.backup_dir, "offsite", config.offsite_max_age_hours, now)
    for job, max_age_hours in config.results.items():
        # A job's result files: in its own directory (sentry-cleanup's status volume), else beside the backups.
        directory = config.result_dirs.get(job) or (config.backup_dir if config.backup_name else None)
        if directory:
            checks[job] = lambda d=directory, j=job, h=max_age_hours: job_result(d, j, h, now)
    if config.disk_free_percent:
        # The backups volume when there is one; otherwise the watchdog's own, on the same disk.
        path = config.backup_dir or os.path.dirname(config.state_file)
        checks["disk"] = lambda: disk_free(path, config.disk_free_percent)
    return {name: guarded(check) for name, check in checks.items()}
