"""The GlitchTip bootstrap script, run against in-memory stand-ins for GlitchTip's models.

The same script was run against GlitchTip's real backend with PostgreSQL by
scripts/run_bootstrap_against_backend.py; these tests pin each behaviour that run showed.
"""

import io
import json
import os
from contextlib import redirect_stdout
from unittest import mock

import pytest

from components.apps.glitchtip.services import bootstrap_script
from components.spec import report_from_output
from tests import fake_glitchtip
from tests.fake_glitchtip import APIToken, Organization, OrganizationUser, Project, Scopes, Team, User

TOKEN = "0123456789abcdef" * 4
LABEL = "error-tracking ci"


@pytest.fixture()
def db():
    database = fake_glitchtip.install()
    yield database
    fake_glitchtip.uninstall()


@pytest.fixture()
def db_5x():
    """GlitchTip 5.x: organizations have no is_deleted field."""
    database = fake_glitchtip.install(organization_soft_delete=False)
    yield database
    fake_glitchtip.uninstall()


def run_bootstrap(projects, password="s3cret-Password", token=TOKEN, email="ops@example.com"):
    env = {
        "BOOTSTRAP_ADMIN_EMAIL": email,
        "BOOTSTRAP_ADMIN_PASSWORD": password,
        "BOOTSTRAP_ORGANIZATION": "Acme",
        "BOOTSTRAP_TEAM": "acme",
        "BOOTSTRAP_PROJECTS": json.dumps([{"name": n, "platform": "python"} for n in projects]),
        "BOOTSTRAP_API_TOKEN": token,
        "BOOTSTRAP_API_TOKEN_LABEL": LABEL,
    }
    out = io.StringIO()
    with mock.patch.dict(os.environ, env), redirect_stdout(out):
        exec(compile(bootstrap_script(), "bootstrap_script.py", "exec"), {"__name__": "__main__"})
    return out.getvalue(), json.loads(report_from_output(out.getvalue()))


def admin():
    return User.objects.filter(email="ops@example.com").first()


def ci_tokens():
    return APIToken.objects.filter(user=admin(), label=LABEL).items


def test_first_run_creates_admin_organization_team_and_projects_and_reports_their_dsns(db):
    _, report = run_bootstrap(["api", "web"])
    assert set(report["projects"]) == {"api", "web"}
    assert admin().is_superuser and admin().is_staff
    organization = Organization.objects.filter(name="Acme").first()
    assert organization.organization_users.get(user=admin()).role == fake_glitchtip.OWNER
    team = Team.objects.filter(slug="acme").first()
    assert len(team.projects.items) == 2
    for project in report["projects"].values():
        assert project["dsn"].startswith("https://") and project["dsn"].endswith(f"@errors.example.com/{project['id']}")


def test_rerun_writes_nothing_and_keeps_every_dsn(db):
    _, first = run_bootstrap(["api", "web"])
    writes = len(db.writes)
    _, second = run_bootstrap(["api", "web"])
    assert db.writes[writes:] == []
    assert second == first


def test_adding_a_project_creates_only_that_project(db):
    _, first = run_bootstrap(["api"])
    writes = len(db.writes)
    _, second = run_bootstrap(["api", "billing"])
    assert db.writes[writes:] == ["create Project", "create ProjectKey", "add team project"]
    assert second["projects"]["api"] == first["projects"]["api"]


def test_changed_admin_password_is_set_on_the_existing_admin(db):
    run_bootstrap(["api"], password="first-Password1")
    run_bootstrap(["api"], password="second-Password2")
    assert admin().check_password("second-Password2")


def test_slugs_are_read_back_from_glitchtip_not_predicted_from_names(db):
    _, report = run_bootstrap(["new"])  # a reserved word: GlitchTip saves it as new-1
    saved = Project.objects.filter(name="new").first()
    assert report["projects"]["new"]["slug"] == saved.slug == "new-1"


def test_a_soft_deleted_project_is_created_again_with_a_new_slug_and_dsn(db):
    _, first = run_bootstrap(["api"])
    Project.objects.filter(name="api").first().is_deleted = True
    _, second = run_bootstrap(["api"])
    again = second["projects"]["api"]
    live = Project.undeleted_objects.filter(name="api").first()
    assert (again["id"], again["slug"]) == (live.id, live.slug) == (live.id, "api-2")
    assert again["dsn"] != first["projects"]["api"]["dsn"]
    assert len(Team.objects.filter(slug="acme").first().projects.items) == 2  # the new one joins the team


def test_a_soft_deleted_organization_is_created_again_on_glitchtip_6(db):
    _, first = run_bootstrap(["api"])
    Organization.objects.filter(name="Acme").first().is_deleted = True
    _, second = run_bootstrap(["api"])
    live = Organization.objects.filter(name="Acme", is_deleted=False).first()
    assert second["organization"] == live.slug and live.slug.startswith("acme-")
    assert live.organization_users.get(user=admin()).role == fake_glitchtip.OWNER
    assert second["projects"]["api"]["dsn"] != first["projects"]["api"]["dsn"]


def test_organizations_without_is_deleted_still_work_on_glitchtip_5(db_5x):
    _, first = run_bootstrap(["api"])
    writes = len(db_5x.writes)
    _, second = run_bootstrap(["api"])
    assert second == first and db_5x.writes[writes:] == []


@pytest.mark.parametrize("already_member", [True, False])
def test_an_existing_user_named_admin_is_made_owner_and_superuser(db, already_member):
    someone = User.objects.create(email="first@example.com")
    organization = Organization.objects.create(name="Acme")
    organization.add_user(someone)  # the first user becomes owner
    existing = User.objects.create(email="ops@example.com", password="s3cret-Password")
    if already_member:
        organization.add_user(existing, role=fake_glitchtip.MEMBER)
    run_bootstrap(["api"])
    membership = OrganizationUser.objects.filter(user=existing, organization=organization).first()
    assert membership.role == fake_glitchtip.OWNER
    assert existing.is_superuser and existing.is_staff


def test_the_ci_token_is_created_once_with_the_given_value_and_upload_scopes(db):
    run_bootstrap(["api"])
    (token,) = ci_tokens()
    assert token.token == TOKEN
    assert token.scopes.flags() == {"project:releases", "project:read", "org:read"}


def test_a_changed_token_value_updates_the_same_token(db):
    run_bootstrap(["api"])
    (before,) = ci_tokens()
    writes = len(db.writes)
    run_bootstrap(["api"], token="f" * 64)
    (after,) = ci_tokens()
    assert after is before and after.token == "f" * 64
    assert db.writes[writes:] == ["save APIToken"]


def test_missing_scopes_are_added_and_extra_ones_kept(db):
    run_bootstrap(["api"])
    (token,) = ci_tokens()
    token.scopes = Scopes("project:read", "project:write")
    run_bootstrap(["api"])
    assert token.scopes.flags() == {"project:releases", "project:read", "org:read", "project:write"}


def test_duplicate_tokens_with_the_label_are_removed(db):
    run_bootstrap(["api"])
    APIToken.objects.create(user=admin(), label=LABEL)
    run_bootstrap(["api"])
    assert [t.token for t in ci_tokens()] == [TOKEN]


def test_a_new_admin_email_takes_over_the_token_holding_the_value(db):
    run_bootstrap(["api"])
    writes = len(db.writes)
    run_bootstrap(["api"], email="lead@example.com")
    (token,) = APIToken.objects.filter(token=TOKEN).items
    assert token.user.email == "lead@example.com" and token.label == LABEL
    assert db.writes[writes:].count("save APIToken") == 1 and "create APIToken" not in db.writes[writes:]


def test_a_malformed_token_is_refused_without_being_echoed(db):
    with pytest.raises(SystemExit) as refused:
        run_bootstrap(["api"], token="NotHex-SecretValue")
    assert "BOOTSTRAP_API_TOKEN" in str(refused.value) and "NotHex-SecretValue" not in str(refused.value)
    assert db.writes == []


def test_neither_the_password_nor_the_token_is_printed(db):
    output, _ = run_bootstrap(["api"], password="NeverPrintMe123")
    assert "NeverPrintMe123" not in output and TOKEN not in output
