"""The ClickHouse backup, drill and restore scripts broken on purpose, for real against ClickHouse
(chdb behind tests/clickhouse_server.py): two backups in one second, a corrupted column file with a
matching archive checksum, an archive without its checksum, a future-dated set, a rename that
fails half-way through the swap, a dump renamed between the pairing's two looks, a clock a year
ahead of every archive."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.operations import describe
from tests.clickhouse_server import DATABASE, ch, server  # noqa: F401 (the fixtures)
from tests.fault_tools import plant, set_age, stamp, tool

SCRIPTS = Path(describe.__file__).parent / "scripts"


def run(server, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPTS / script), *args], env={**server.env, **env},
                          capture_output=True, text=True, timeout=60)


def backed_up(ch) -> tuple[Path, Path]:
    """One nightly backup with Postgres external: (its set, its archive)."""
    result = run(ch, "clickhouse_backup.sh", PAIR_POSTGRES="")
    assert result.returncode == 0, result.stderr
    (set_file,) = sorted(ch.backups.glob("sentry-*.set"))
    archive = ch.backups / next(line.split("=", 1)[1] for line in set_file.read_text().splitlines()
                                if line.startswith("clickhouse="))
    return set_file, archive


def live_rows(ch) -> str:
    return ch.sql(f"SELECT count() FROM {DATABASE}.errors_local")


def databases(ch, prefix: str) -> list[str]:
    return ch.sql(f"SELECT name FROM system.databases WHERE startsWith(name, '{prefix}')").split()


def test_two_backups_started_in_the_same_second_both_publish_a_whole_archive(ch):
    """They used to write the same hidden name and delete each other's files."""
    runs = [subprocess.Popen(["sh", str(SCRIPTS / "clickhouse_backup.sh")], env={**ch.env, "PAIR_POSTGRES": ""},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(r.wait(timeout=60), r.stderr.read()) for r in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    archives = sorted(p.name for p in ch.backups.glob("clickhouse-2*.tar"))
    assert len(archives) == 2 and len(list(ch.backups.glob("sentry-*.set"))) == 2
    check = subprocess.run(["sha256sum", "-c", *[f"{a}.sha256" for a in archives]], cwd=ch.backups,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert run(ch, "clickhouse_drill.sh").returncode == 0


def test_a_corrupted_column_file_fails_the_drill_and_is_never_swapped_in(ch):
    set_file, archive = backed_up(ch)
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith(f"data/{DATABASE}/errors_local/")
                      and m.name.endswith(".bin"))
    data = bytearray(archive.read_bytes())
    middle = member.offset_data + member.size // 2
    data[middle:middle + 16] = bytes(16)
    archive.write_bytes(bytes(data))  # damaged before its checksum was taken: the checksum agrees
    (ch.backups / f"{archive.name}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {archive.name}\n")
    drill = run(ch, "clickhouse_drill.sh")
    assert drill.returncode == 1
    failed = (ch.backups / ".last-clickhouse-drill-failed").read_text()
    assert "errors_local fails CHECK TABLE" in failed and "Checksum" in failed
    assert databases(ch, "drill_") == []
    restore = run(ch, "clickhouse_restore.sh", str(set_file))
    assert restore.returncode != 0 and f"{DATABASE} is unchanged" in restore.stderr
    assert live_rows(ch) == "5000" and databases(ch, f"{DATABASE}_before_") == []


def test_a_table_that_passes_check_table_but_does_not_read_back_fails_the_drill(ch):
    backed_up(ch)
    ch.refuse = (".errors_local WHERE NOT ignore(*)",)  # every read of every column of it fails
    drill = run(ch, "clickhouse_drill.sh")
    assert drill.returncode == 1
    failed = (ch.backups / ".last-clickhouse-drill-failed").read_text()
    assert "table errors_local does not read back" in failed and "refused by the test" in failed
    assert "migrations_local" not in failed  # the other tables were read and are fine


def test_an_archive_without_its_checksum_is_restored_only_when_said_so(ch):
    set_file, archive = backed_up(ch)
    (ch.backups / f"{archive.name}.sha256").unlink()
    drill = run(ch, "clickhouse_drill.sh")
    assert drill.returncode == 1 and "no checksum file" in drill.stderr
    assert "no backup set names a trusted ClickHouse archive" in (ch.backups / ".last-clickhouse-drill-failed").read_text()
    refused = run(ch, "clickhouse_restore.sh", str(set_file))
    assert refused.returncode != 0 and "has no checksum file" in refused.stderr
    assert databases(ch, f"{DATABASE}_before_") == []
    forced = run(ch, "clickhouse_restore.sh", "--no-checksum", str(set_file))
    assert forced.returncode == 0, forced.stderr
    assert "WARNING" in forced.stderr and len(databases(ch, f"{DATABASE}_before_")) == 1


def test_a_future_dated_set_is_passed_over_by_the_drill(ch):
    set_file, archive = backed_up(ch)
    future = ch.backups / f"sentry-{stamp(-365)}.set"
    future.write_text(set_file.read_text())
    set_age(future, -365)
    drill = run(ch, "clickhouse_drill.sh")
    assert drill.returncode == 0, drill.stderr
    assert f"passing over {future.name}: it is dated in the future" in drill.stderr
    assert archive.name in (ch.backups / ".last-clickhouse-drill-ok").read_text()


def test_a_swap_that_fails_half_way_puts_the_live_database_back(ch):
    set_file, _ = backed_up(ch)
    ch.sql(f"TRUNCATE TABLE {DATABASE}.outcomes_raw_local")
    ch.refuse = (f"RENAME DATABASE {DATABASE}_restoring",)  # the second rename fails
    result = run(ch, "clickhouse_restore.sh", str(set_file))
    assert result.returncode != 0
    assert f"{DATABASE} is the previous database again; the restored copy waits in {DATABASE}_restoring" in result.stderr
    assert live_rows(ch) == "5000" and databases(ch, f"{DATABASE}_before_") == []
    assert databases(ch, f"{DATABASE}_restoring") == [f"{DATABASE}_restoring"]


def test_the_pairing_finds_a_dump_renamed_between_its_two_looks(ch, tmp_path):
    """The flaky night of the issue, made certain: the Postgres dump is renamed into place right
    after the finished-dump look and before the in-progress look. Whatever the order of the two
    looks, `find` (the in-progress one) is where the rename is injected."""
    name = f"postgres-{stamp(0)}.dump"
    partial = ch.backups / f".partial-77-{name}"
    partial.write_bytes(b"PGDMP written")
    tool(tmp_path / "bin", "find", f'[ -f "{partial}" ] && mv "{partial}" "{ch.backups / name}"\nexec "$REAL" "$@"')
    result = run(ch, "clickhouse_backup.sh", PAIR_GRACE_SECONDS="0")
    assert result.returncode == 0, result.stderr
    (set_file,) = ch.backups.glob("sentry-*.set")
    assert f"postgres={name}" in set_file.read_text()


def test_a_clock_a_year_ahead_never_costs_more_than_the_oldest_archive(ch):
    for day in range(30):
        name = f"clickhouse-{stamp(365 + day)}.tar"
        plant(ch.backups, name, 365 + day)
        (ch.backups / f"{name}.tables").write_text("errors_local\t1\n")
    rollback = plant(ch.backups, f"clickhouse-pre-upgrade-from-26.7.0-{stamp(400)}.tar", 400)
    result = run(ch, "clickhouse_backup.sh", PAIR_POSTGRES="", RETENTION_DAYS="30")
    assert result.returncode == 0, result.stderr
    assert len(list(ch.backups.glob("clickhouse-2*.tar"))) == 30 and rollback.exists()
    assert not (ch.backups / f"clickhouse-{stamp(365 + 29)}.tar.tables").exists()
