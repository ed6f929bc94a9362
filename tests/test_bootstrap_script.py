"""The GlitchTip bootstrap script, run against in-memory stand-ins for GlitchTip's models."""

import io
import json
import os
from contextlib import redirect_stdout
from unittest import mock

import pytest

from components.apps.glitchtip.services import bootstrap_script
from components.spec import report_from_output
from tests import fake_glitchtip


@pytest.fixture()
def db():
    database = fake_glitchtip.install()
    yield database
    fake_glitchtip.uninstall()


def run_bootstrap(projects, password="s3cret-Password"):
    env = {
        "BOOTSTRAP_ADMIN_EMAIL": "ops@example.com",
        "BOOTSTRAP_ADMIN_PASSWORD": password,
        "BOOTSTRAP_ORGANIZATION": "Acme",
        "BOOTSTRAP_TEAM": "acme",
        "BOOTSTRAP_PROJECTS": json.dumps([{"name": n, "platform": "python"} for n in projects]),
    }
    out = io.StringIO()
    with mock.patch.dict(os.environ, env), redirect_stdout(out):
        exec(compile(bootstrap_script(), "bootstrap_script.py", "exec"), {"__name__": "__main__"})
    return out.getvalue(), json.loads(report_from_output(out.getvalue()))


def test_first_run_creates_admin_organization_team_and_projects_and_reports_their_dsns(db):
    _, report = run_bootstrap(["api", "web"])
    assert set(report["projects"]) == {"api", "web"}
    admin = fake_glitchtip.User.objects.filter(email="ops@example.com").first()
    assert admin.is_superuser and admin.is_staff
    organization = fake_glitchtip.Organization.objects.filter(name="Acme").first()
    assert organization.organization_users.get(user=admin).role == 3  # owner
    team = fake_glitchtip.Team.objects.filter(slug="acme").first()
    assert len(team.projects.items) == 2
    for project in report["projects"].values():
        assert project["dsn"].startswith("https://") and project["dsn"].endswith(f"@errors.example.com/{project['id']}")


def test_rerun_writes_nothing_and_keeps_every_dsn(db):
    _, first = run_bootstrap(["api", "web"])
    writes = len(db.writes)
    _, second = run_bootstrap(["api", "web"])
    assert len(db.writes) == writes, db.writes[writes:]
    assert second == first


def test_adding_a_project_creates_only_that_project(db):
    _, first = run_bootstrap(["api"])
    writes = len(db.writes)
    _, second = run_bootstrap(["api", "billing"])
    added = db.writes[writes:]
    assert added == ["create Project", "create ProjectKey", "add team project"]
    assert second["projects"]["api"] == first["projects"]["api"]


def test_changed_admin_password_is_set_on_the_existing_admin(db):
    run_bootstrap(["api"], password="first-Password1")
    run_bootstrap(["api"], password="second-Password2")
    admin = fake_glitchtip.User.objects.filter(email="ops@example.com").first()
    assert admin.check_password("second-Password2")


def test_the_password_is_never_printed(db):
    output, _ = run_bootstrap(["api"], password="NeverPrintMe123")
    assert "NeverPrintMe123" not in output
