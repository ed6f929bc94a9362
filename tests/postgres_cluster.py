"""A throwaway PostgreSQL cluster from the server binaries on this machine, for the tests that run
the backup, drill and restore scripts for real. Its superuser is `glitchtip` (the name both apps'
scripts are given), with a password over scram-sha-256 as the deployed servers ask for."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None
needs_postgres = pytest.mark.skipif(
    PG_BIN is None and shutil.which("initdb") is None,
    reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql",
)


class Cluster:
    def __init__(self, root: Path, port: int, password: str):
        self.root, self.port, self.password = root, port, password
        self.path = f"{PG_BIN}:{os.environ['PATH']}" if PG_BIN else os.environ["PATH"]

    def env(self, backups: Path, **extra: str) -> dict[str, str]:
        return {
            **os.environ, "PATH": self.path, "PGHOST": "127.0.0.1", "PGPORT": str(self.port),
            "PGUSER": "glitchtip", "PGPASSWORD": self.password, "PGDATABASE": "glitchtip",
            "BACKUP_DIR": str(backups), **extra,
        }

    def sql(self, query: str, database: str = "glitchtip") -> str:
        env = self.env(self.root, PGDATABASE=database)
        result = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query],
                                env=env, capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def script(self, path: Path, backups: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
        """One of the operations' scripts under `sh`, as the deployed tasks run them."""
        return subprocess.run(["sh", str(path), *args], env=self.env(backups, **env),
                              capture_output=True, text=True, timeout=60)

    def databases(self) -> set[str]:
        return set(self.sql("SELECT datname FROM pg_database", "postgres").split())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user():
    """initdb and postgres refuse to run as root: drop to the `postgres` (or `nobody`) account."""
    if os.geteuid() != 0:
        return None, None
    names = [p.pw_name for p in pwd.getpwall()]
    account = pwd.getpwnam("postgres" if "postgres" in names else "nobody")

    def demote():
        os.setgid(account.pw_gid)
        os.setgroups([])
        os.setuid(account.pw_uid)
    return account, demote


def backups_directory(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


@contextlib.contextmanager
def running_cluster(password: str) -> Iterator[Cluster]:
    """A started cluster (fsync off: nothing here needs to survive a crash), removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ops-pg-"))
    account, demote = _as_postgres_user()
    (root / "pw").write_text(password + "\n")
    if account:
        for path in (root, root / "pw"):  # initdb reads the password file as that user
            os.chown(path, account.pw_uid, account.pw_gid)
    cluster = Cluster(root, _free_port(), password)
    env = {**os.environ, "PATH": cluster.path}
    data = root / "data"
    subprocess.run(["initdb", "-D", str(data), "-U", "glitchtip", f"--pwfile={root / 'pw'}",
                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                   env=env, preexec_fn=demote, check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run(["pg_ctl", "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"],
                   env=env, preexec_fn=demote, check=True, capture_output=True)
    try:
        yield cluster
    finally:
        subprocess.run(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       env=env, preexec_fn=demote, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
