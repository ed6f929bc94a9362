"""The backup, verify, restore, drill and pre-upgrade scripts, run for real against a local PostgreSQL.

One throw-away cluster per module (tests/postgres_cluster.py). The database is GlitchTip-shaped: the tables the
sanity checks read, a partitioned event table, rows. The deployed scripts run with the deployed
Postgres image (same major version as the server); here they prove their logic with PG 15.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from components import stores
from components.operations import describe, files
from components.operations.settings import parse_backup
from components.validation import Problems, Section
from tests.harness import own_event_loop
from tests.postgres_cluster import Cluster, backups_directory, needs_postgres, running_cluster

SCRIPTS = Path(describe.__file__).parent / "scripts"
pytestmark = needs_postgres
PASSWORD = "drill-test-password"
ORGANIZATION = "Acme Corp"
PROJECTS = ["api", "web app"]

SEED = f"""
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255), applied timestamptz);
INSERT INTO django_migrations (app, name, applied) VALUES ('projects', '0001_initial', now());
CREATE TABLE users_user (id bigserial PRIMARY KEY, email varchar(254) UNIQUE);
CREATE TABLE organizations_ext_organization (id bigserial PRIMARY KEY, name varchar(200), slug varchar(200) UNIQUE);
CREATE TABLE projects_project (id bigserial PRIMARY KEY, name varchar(64), slug varchar(50),
  organization_id bigint REFERENCES organizations_ext_organization (id), is_deleted boolean NOT NULL DEFAULT false);
CREATE TABLE projects_projectkey (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects_project (id), public_key uuid);
CREATE TABLE issue_events_issue (id bigserial PRIMARY KEY, project_id bigint, title text);
CREATE TABLE issue_events_issueevent (id uuid, issue_id bigint, received timestamptz NOT NULL, data jsonb,
  PRIMARY KEY (id, received)) PARTITION BY RANGE (received);
CREATE TABLE issue_events_issueevent_20260101 PARTITION OF issue_events_issueevent FOR VALUES FROM ('2026-01-01') TO ('2026-01-02');
CREATE TABLE issue_events_issueevent_20260102 PARTITION OF issue_events_issueevent FOR VALUES FROM ('2026-01-02') TO ('2026-01-03');
INSERT INTO users_user (email) VALUES ('admin@example.com');
INSERT INTO organizations_ext_organization (name, slug) VALUES ('{ORGANIZATION}', 'acme-corp');
INSERT INTO projects_project (name, slug, organization_id) VALUES ('api', 'api', 1), ('web app', 'web-app', 1);
INSERT INTO projects_projectkey (project_id, public_key) VALUES (1, gen_random_uuid()), (2, gen_random_uuid());
INSERT INTO issue_events_issue (project_id, title) SELECT 1 + g % 2, 'TypeError ' || g FROM generate_series(1, 50) g;
INSERT INTO issue_events_issueevent SELECT gen_random_uuid(), 1 + g % 50, '2026-01-01'::timestamptz + (g % 2) * interval '1 day',
  jsonb_build_object('message', 'boom ' || g) FROM generate_series(1, 2000) g;
"""
# What "the same data" means for the comparison: every table's rows, in a stable order.
FINGERPRINT = """
SELECT string_agg(t, '|' ORDER BY t) FROM (
  SELECT 'org:' || md5(string_agg(o::text, ',' ORDER BY id)) AS t FROM organizations_ext_organization o
  UNION ALL SELECT 'project:' || md5(string_agg(p::text, ',' ORDER BY id)) FROM projects_project p
  UNION ALL SELECT 'key:' || md5(string_agg(k::text, ',' ORDER BY id)) FROM projects_projectkey k
  UNION ALL SELECT 'issue:' || md5(string_agg(i::text, ',' ORDER BY id)) FROM issue_events_issue i
  UNION ALL SELECT 'event:' || md5(string_agg(e::text, ',' ORDER BY id)) FROM issue_events_issueevent e
) parts
"""


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(PASSWORD) as cluster:
        cluster.sql("CREATE DATABASE glitchtip", "postgres")
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=SEED, text=True,
                       env=cluster.env(cluster.root), check=True, capture_output=True)
        yield cluster


@pytest.fixture
def backups(tmp_path):
    return backups_directory(tmp_path)


def run(cluster: Cluster, backups: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return cluster.script(SCRIPTS / script, backups, *args, **env)


def checks_env(projects=PROJECTS) -> dict[str, str]:
    sql, variables = describe.glitchtip_checks(ORGANIZATION, projects)
    path = Path(tempfile.mkstemp(suffix=".sql")[1])
    path.write_text(sql)
    return {"CHECKS_SQL": str(path), **{f"CHECK_{k}": v for k, v in variables.items()}}


def dumps(backups: Path) -> list[Path]:
    return sorted(backups.glob("glitchtip-*.dump"))


def age(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


# --- backup ---------------------------------------------------------------------------------

def test_backup_publishes_one_verified_dump_named_after_the_database_and_utc_time(cluster, backups):
    result = run(cluster, backups, "backup.sh")
    assert result.returncode == 0, result.stderr
    [dump] = dumps(backups)
    assert re.fullmatch(r"glitchtip-\d{8}T\d{6}Z\.dump", dump.name)
    checksum = (backups / f"{dump.name}.sha256").read_text().split()
    assert checksum[1] == dump.name
    assert checksum[0] == subprocess.run(["sha256sum", str(dump)], capture_output=True, text=True).stdout.split()[0]
    assert not [p for p in backups.iterdir() if p.name.startswith(".partial")]


def test_a_failed_dump_publishes_nothing(cluster, backups):
    result = run(cluster, backups, "backup.sh", PGDATABASE="no_such_database")
    assert result.returncode != 0
    assert [p.name for p in backups.iterdir()] == [".lock-no_such_database"]  # the lock file only


# Retention (count, age and checksums; the newest daily and pre-upgrade dumps kept): see
# test_operations_faults_postgres.py, with the clock jumping and dumps rotting.


# --- verify, restore, drill -----------------------------------------------------------------

def test_a_dump_restores_into_a_new_database_with_the_same_data(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [dump] = dumps(backups)
    result = run(cluster, backups, "restore.sh", str(dump), "glitchtip_copy", **checks_env())
    try:
        assert result.returncode == 0, result.stderr
        assert "sanity checks passed" in result.stderr
        assert cluster.sql(FINGERPRINT, "glitchtip_copy") == cluster.sql(FINGERPRINT)
    finally:
        cluster.sql("DROP DATABASE IF EXISTS glitchtip_copy", "postgres")


def test_restore_refuses_an_existing_database(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    result = run(cluster, backups, "restore.sh", str(dumps(backups)[0]), "glitchtip", **checks_env())
    assert result.returncode != 0
    assert "already exists" in result.stderr


def test_the_drill_restores_checks_drops_and_records_success(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    result = run(cluster, backups, "drill.sh", **checks_env())
    assert result.returncode == 0, result.stderr
    assert "glitchtip_drill" not in cluster.databases()
    assert dumps(backups)[0].name in (backups / ".last-drill-ok").read_text()
    assert run(cluster, backups, "health.sh", "result", "drill", "840").returncode == 0


def test_the_drill_on_a_fresh_install_takes_a_dump_first(cluster, backups):
    result = run(cluster, backups, "drill.sh", **checks_env())
    assert result.returncode == 0, result.stderr
    assert len(dumps(backups)) == 1
    assert (backups / ".last-drill-ok").exists()


def test_a_drill_fails_when_a_bootstrapped_project_is_missing(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    result = run(cluster, backups, "drill.sh", **checks_env(PROJECTS + ["billing"]))
    assert result.returncode != 0
    assert 'project "billing" of organization "Acme Corp" is missing' in result.stderr
    assert "glitchtip_drill" not in cluster.databases()
    assert run(cluster, backups, "health.sh", "result", "drill", "840").returncode != 0


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def test_a_corrupted_dump_fails_verification_and_the_drill(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [dump] = dumps(backups)
    (backups / ".last-drill-ok").write_text("earlier\n")
    age(backups / ".last-drill-ok", 1)
    _corrupt(dump)
    result = run(cluster, backups, "drill.sh", **checks_env())
    assert result.returncode != 0
    assert "does not match its checksum" in result.stderr
    assert f"restoring {dump.name} failed" in (backups / ".last-drill-failed").read_text()
    assert run(cluster, backups, "health.sh", "result", "drill", "840").returncode != 0


def test_verification_reads_every_data_block_not_only_the_table_of_contents(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    [dump] = dumps(backups)
    (backups / f"{dump.name}.sha256").unlink()  # no checksum to catch it: pg_restore must
    _corrupt(dump)
    toc = subprocess.run(["pg_restore", "--list", str(dump)], env=cluster.env(backups), capture_output=True)
    assert toc.returncode == 0  # the table of contents alone still reads
    script = f'. "{SCRIPTS}/common.sh"; verify_dump "{dump}"'
    result = subprocess.run(["sh", "-c", script], env=cluster.env(backups), capture_output=True, text=True)
    assert result.returncode != 0


# --- pre-upgrade and the runbook's replace ----------------------------------------------------

def test_pre_upgrade_on_an_empty_database_takes_no_dump_and_records_the_version(cluster, backups):
    cluster.sql("CREATE DATABASE fresh", "postgres")
    try:
        result = run(cluster, backups, "pre_upgrade.sh", PGDATABASE="fresh", APP_VERSION="6.2.6")
        assert result.returncode == 0, result.stderr
        assert not list(backups.glob("*.dump"))
        assert (backups / ".fresh-app-version").read_text().strip() == "6.2.6"
    finally:
        cluster.sql("DROP DATABASE fresh", "postgres")


def test_pre_upgrade_names_the_dump_after_the_version_it_came_from(cluster, backups):
    (backups / ".glitchtip-app-version").write_text("6.2.5\n")
    result = run(cluster, backups, "pre_upgrade.sh", APP_VERSION="6.2.6")
    assert result.returncode == 0, result.stderr
    [dump] = dumps(backups)
    assert re.fullmatch(r"glitchtip-pre-upgrade-from-6\.2\.5-\d{8}T\d{6}Z\.dump", dump.name)
    assert (backups / ".glitchtip-app-version").read_text().strip() == "6.2.6"
    again = run(cluster, backups, "pre_upgrade.sh", APP_VERSION="6.2.6")
    assert again.returncode == 0 and len(dumps(backups)) == 1  # same version: nothing to do


def test_pre_upgrade_without_a_marker_on_a_used_database_names_the_old_version_unknown(cluster, backups):
    result = run(cluster, backups, "pre_upgrade.sh", APP_VERSION="6.2.6")
    assert result.returncode == 0, result.stderr
    assert dumps(backups)[0].name.startswith("glitchtip-pre-upgrade-from-unknown-")


def test_pre_upgrade_fails_when_the_database_cannot_be_dumped(cluster, backups):
    (backups / ".glitchtip-app-version").write_text("6.2.5\n")
    result = run(cluster, backups, "pre_upgrade.sh", APP_VERSION="6.2.6", PGPASSWORD="wrong")
    assert result.returncode != 0
    assert (backups / ".glitchtip-app-version").read_text().strip() == "6.2.5"


def test_the_runbook_replace_swaps_the_restored_database_in_and_keeps_the_old_one(cluster, backups):
    cluster.sql("CREATE DATABASE live TEMPLATE glitchtip", "postgres")
    try:
        (backups / ".live-app-version").write_text("6.2.5\n")
        assert run(cluster, backups, "pre_upgrade.sh", PGDATABASE="live", APP_VERSION="6.2.6").returncode == 0
        [dump] = sorted(backups.glob("live-pre-upgrade-from-6.2.5-*.dump"))
        before = cluster.sql(FINGERPRINT, "live")
        cluster.sql("DELETE FROM projects_projectkey WHERE project_id = 2; DELETE FROM projects_project WHERE id = 2",
                    "live")  # the failed upgrade's damage
        # A session still open on the live database (a web process left running) is ended.
        session = subprocess.Popen(["psql", "-X", "-c", "SELECT pg_sleep(300)"], env=cluster.env(backups, PGDATABASE="live"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'live'", "postgres") == "0":
            time.sleep(0.05)
        try:
            result = run(cluster, backups, "restore.sh", "--replace", str(dump), PGDATABASE="live", **checks_env())
            assert session.wait(timeout=10) != 0
        finally:
            session.kill()
        assert result.returncode == 0, result.stderr
        assert cluster.sql(FINGERPRINT, "live") == before
        kept = [d for d in cluster.databases() if d.startswith("live_before_")]
        assert len(kept) == 1
        assert cluster.sql("SELECT count(*) FROM projects_project", kept[0]) == "1"
        # The restored database is the 6.2.5 one again: the next upgrade names its dump after it.
        assert (backups / ".live-app-version").read_text().strip() == "6.2.5"
    finally:
        for name in cluster.databases():
            if name.startswith("live"):
                cluster.sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")


# --- the spec objects, run as declared -------------------------------------------------------

def _as_declared(task, config_files, root: Path, backups: Path, cluster: Cluster):
    """The task's command and environment with its files written where it mounts them (below
    `root`) and its backups volume at `backups`; only the server address is this test's."""
    contents = {f.name: f.content for f in config_files}
    for mount in task.files:
        path = root / mount.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(contents[mount.file])

    def moved(value: str) -> str:
        return value.replace(f"{files.OPS_DIR}/", f"{root}{files.OPS_DIR}/").replace(describe.BACKUP_DIR, str(backups))

    assert set(task.secret_env) == {"PGPASSWORD"}
    env = {**{k: moved(v) for k, v in task.env.items()}, "PGPASSWORD": PASSWORD,
           "PGHOST": "127.0.0.1", "PGPORT": str(cluster.port), "PATH": cluster.path}
    return [moved(a) for a in task.command], env


def test_the_described_pre_upgrade_drill_and_health_check_run_as_declared(cluster, backups, tmp_path):
    with own_event_loop():
        sql, variables = describe.glitchtip_checks(ORGANIZATION, PROJECTS)
        app = describe.Protected(version="6.2.6", database=stores.Database("glitchtip", "glitchtip", PASSWORD),
                                 postgres_image="postgres:15", checks_sql=sql, check_vars=variables)
        backup = parse_backup(Section({}, "error-tracking:backup", Problems()))
        config_files = describe.config_files(app, backup)
        for task in (describe.pre_upgrade_task(app), describe.drill_task(app, backup)):
            argv, env = _as_declared(task, config_files, tmp_path, backups, cluster)
            result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, f"{task.name}: {result.stderr}"
        drill = describe.drill_task(app, backup)
        argv, env = _as_declared(drill, config_files, tmp_path, backups, cluster)
        health = [a.replace(f"{files.OPS_DIR}/", f"{tmp_path}{files.OPS_DIR}/") for a in drill.health.probe.command]
        assert subprocess.run(health, env=env).returncode == 0
    assert dumps(backups)[0].name.startswith("glitchtip-pre-upgrade-from-unknown-")
    assert (backups / ".last-drill-ok").exists()
