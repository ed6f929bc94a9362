"""Sentry's side of the Postgres scripts, run for real against a local PostgreSQL: the sanity
checks of Sentry's schema, the drill of the dump a backup set names, and the runbook's replace of
a live database that is itself called `postgres` (Sentry's), through template1."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from components.operations import describe
from tests.postgres_cluster import Cluster, backups_directory, needs_postgres, running_cluster

SCRIPTS = Path(describe.__file__).parent / "scripts"
PASSWORD = "sentry-drill-test-password"
pytestmark = needs_postgres

ORGANIZATION = "Acme"
PROJECTS = ["api", "web"]
# Sentry's tables the checks read, as getsentry/sentry's models name them (a few columns each).
SEED = f"""
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255), applied timestamptz);
INSERT INTO django_migrations (app, name, applied) VALUES ('sentry', '0001_squashed', now());
CREATE TABLE sentry_organization (id bigserial PRIMARY KEY, name varchar(64), slug varchar(50), status integer);
CREATE TABLE sentry_project (id bigserial PRIMARY KEY, name varchar(200), slug varchar(50),
  organization_id bigint REFERENCES sentry_organization (id), status integer);
CREATE TABLE sentry_projectkey (id bigserial PRIMARY KEY, project_id bigint REFERENCES sentry_project (id),
  public_key varchar(32), status integer);
CREATE TABLE sentry_groupedmessage (id bigserial PRIMARY KEY, project_id bigint, message text);
INSERT INTO sentry_organization (name, slug, status) VALUES ('{ORGANIZATION}', 'acme', 0);
INSERT INTO sentry_project (name, slug, organization_id, status) VALUES ('api', 'api', 1, 0), ('web', 'web', 1, 0);
INSERT INTO sentry_projectkey (project_id, public_key, status) VALUES (1, md5('a'), 0), (2, md5('b'), 0);
INSERT INTO sentry_groupedmessage (project_id, message) SELECT 1 + g % 2, 'boom ' || g FROM generate_series(1, 100) g;
"""


@pytest.fixture(scope="module")
def cluster():
    """Sentry's database is `postgres` itself."""
    with running_cluster(PASSWORD) as cluster:
        cluster.sql(SEED, "postgres")
        yield cluster


@pytest.fixture
def backups(tmp_path):
    return backups_directory(tmp_path)


def run(cluster: Cluster, backups: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Sentry's database is `postgres`: the runbook's statements about it go through template1."""
    return cluster.script(SCRIPTS / script, backups, *args,
                          **{"PGDATABASE": "postgres", "MAINTENANCE_DATABASE": "template1", **env})


def checks(projects=PROJECTS) -> dict[str, str]:
    sql, variables = describe.sentry_checks(ORGANIZATION, projects)
    path = Path(tempfile.mkstemp(suffix=".sql")[1])
    path.write_text(sql)
    return {"CHECKS_SQL": str(path), **{f"CHECK_{k}": v for k, v in variables.items()}}


def test_a_sentry_dump_passes_its_checks_and_a_missing_project_is_named(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    (dump,) = backups.glob("postgres-*.dump")
    try:
        passed = run(cluster, backups, "restore.sh", str(dump), "sentry_copy", **checks())
        assert passed.returncode == 0, passed.stderr
        failed = run(cluster, backups, "restore.sh", str(dump), "sentry_copy2", **checks(["api", "billing"]))
        assert failed.returncode != 0
        assert 'project "billing" of organization "Acme" is missing or has no key' in failed.stderr
    finally:
        for name in ("sentry_copy", "sentry_copy2"):
            cluster.sql(f"DROP DATABASE IF EXISTS {name}", "template1")


def test_a_project_without_an_active_key_fails_the_checks(cluster, backups):
    cluster.sql("UPDATE sentry_projectkey SET status = 1 WHERE project_id = 2", "postgres")
    try:
        assert run(cluster, backups, "backup.sh").returncode == 0
        (dump,) = backups.glob("postgres-*.dump")
        failed = run(cluster, backups, "restore.sh", str(dump), "sentry_copy3", **checks())
        assert failed.returncode != 0 and 'project "web"' in failed.stderr
    finally:
        cluster.sql("UPDATE sentry_projectkey SET status = 0", "postgres")
        cluster.sql("DROP DATABASE IF EXISTS sentry_copy3", "template1")


def test_the_drill_restores_the_dump_of_the_newest_set_not_merely_the_newest_dump(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    (paired,) = backups.glob("postgres-*.dump")
    # A later dump that no set names (a ClickHouse backup has not paired with it): not drilled.
    later = backups / "postgres-29990101T000000Z.dump"
    later.write_bytes(paired.read_bytes())
    (backups / "sentry-20260101T030500Z.set").write_text(f"postgres={paired.name}\nclickhouse=clickhouse-x.tar\n")
    result = run(cluster, backups, "drill.sh", SET_NAME="sentry", **checks())
    assert result.returncode == 0, result.stderr
    assert (backups / ".last-drill-ok").read_text().split()[1] == paired.name


def test_the_runbook_replaces_a_live_database_called_postgres_through_template1(cluster, backups):
    assert run(cluster, backups, "backup.sh").returncode == 0
    (dump,) = backups.glob("postgres-*.dump")
    cluster.sql("DELETE FROM sentry_groupedmessage", "postgres")  # the disaster
    result = run(cluster, backups, "restore.sh", "--replace", str(dump), **checks())
    try:
        assert result.returncode == 0, result.stderr
        assert cluster.sql("SELECT count(*) FROM sentry_groupedmessage", "postgres") == "100"
        kept = [d for d in cluster.databases() if d.startswith("postgres_before_")]
        assert len(kept) == 1 and cluster.sql("SELECT count(*) FROM sentry_groupedmessage", kept[0]) == "0"
    finally:
        for name in cluster.databases():
            if name.startswith("postgres_before_"):
                cluster.sql(f"DROP DATABASE {name}", "template1")
