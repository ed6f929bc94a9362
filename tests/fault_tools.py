"""What the fault-injection tests use to break things for real: backups planted with their own
checksums and ages (a clock that jumped is files dated a year away), a small filesystem that
fills up (tmpfs), tools on PATH that record their command lines or misbehave at one precise
moment, and the backup lock held from outside."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

DAY = 86400


def set_age(path: Path, days: float) -> None:
    """Modification time `days` ago (negative: in the future)."""
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


def stamp(days_ago: float) -> str:
    """The UTC name stamp of a file written `days_ago` days ago."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - days_ago * DAY))


def plant(directory: Path, name: str, days_ago: float = 0.0, content: Optional[bytes] = None,
          checksum: bool = True) -> Path:
    """A backup file as the scripts publish it (content, then `<name>.sha256` naming it), aged."""
    path = directory / name
    path.write_bytes(content if content is not None else f"backup {name}\n".encode() * 64)
    if checksum:
        sums = directory / f"{name}.sha256"
        sums.write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n")
        set_age(sums, days_ago)
    set_age(path, days_ago)
    return path


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def small_filesystem(path: Path, size_kb: int = 512) -> Iterator[Path]:
    """A tmpfs of `size_kb` at `path` (CI runs as root, as here); skipped where it cannot mount."""
    path.mkdir(parents=True, exist_ok=True)
    if not can_mount():
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0777", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> None:
    """Writes until the filesystem holding `directory` has no block left."""
    with open(directory / ".filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    with contextlib.suppress(OSError):
        (directory / ".tiny").write_bytes(b"x" * 64)  # the last partial block, if any
    probe = directory / ".probe"
    with pytest.raises(OSError):
        probe.write_bytes(b"x" * 4096)
    probe.unlink(missing_ok=True)


def tool(bin_dir: Path, name: str, body: str, path: Optional[str] = None) -> Path:
    """An executable `name` in a PATH directory of the test's; `body` is POSIX sh and may end by
    running the real tool (the first `name` on `path`, default this process's PATH) as $REAL."""
    bin_dir.mkdir(exist_ok=True)
    real = shutil.which(name, path=path) or name
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\nREAL="{real}"\n{body}\n')
    script.chmod(0o755)
    return script


def recording(bin_dir: Path, name: str, log: Path, path: Optional[str] = None) -> None:
    """`name` runs as usual, each command line appended to `log` (one argument per line)."""
    tool(bin_dir, name, f'printf "%s\\n" "---" "$@" >> "{log}"\nexec "$REAL" "$@"', path)


@contextlib.contextmanager
def holding_lock(lock: Path, holder: str) -> Iterator[None]:
    """The backup lock of a store held from outside, as another run would hold it."""
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lock.write_text(holder + "\n")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
