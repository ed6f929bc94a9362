"""The Sentry bootstrap script, run as `sentry exec` would run it, against in-memory stand-ins."""

import ast
import base64
import io
import json
import os
import sys
from contextlib import redirect_stdout
from unittest import mock

import pytest

from components.apps.sentry import bootstrap_script as module
from components.apps.sentry.install_commands import bootstrap_script
from components.spec import report_from_output
from tests import fake_sentry

PASSWORD = "Admin-Password-1234"
TOKEN_SECRET = "ab" * 32
URL = fake_sentry.URL_PREFIX


@pytest.fixture()
def db():
    database = fake_sentry.install()
    fake_sentry.seed_after_upgrade_and_createuser()
    yield database
    fake_sentry.uninstall()


@pytest.fixture()
def release():
    """A fresh install of another release layout: `release(layout=..., project_defaults=...)`."""
    def install(**layout):
        database = fake_sentry.install(**layout)
        fake_sentry.seed_after_upgrade_and_createuser()
        return database

    yield install
    fake_sentry.uninstall()


def as_sentry_exec_runs_it(script):
    """What `sentry exec -c` (runner/commands/exec.py) compiles: its header, then the script
    indented into a try block whose handler prints the traceback and raises."""
    header = "\n".join([
        "from sentry.runner import configure; configure()",
        "from django.conf import settings",
        "from sentry.models import *",
        "class ScriptError(Exception): pass",
    ])
    body = script.replace("\n", "\n    ")
    return f"{header}\n\ntry:\n    {body}\nexcept Exception:\n    raise ScriptError('Failed to execute script')\n"


def run(projects, password=PASSWORD, token_secret=TOKEN_SECRET, expect_success=True, platforms=None):
    env = {
        "BOOTSTRAP_ADMIN_EMAIL": "ops@example.com",
        "BOOTSTRAP_ADMIN_PASSWORD": password,
        "BOOTSTRAP_ORGANIZATION": "Acme",
        "BOOTSTRAP_TEAM": "Backend",
        "BOOTSTRAP_PROJECTS": json.dumps([{"name": n, "platform": (platforms or {}).get(n, "python")}
                                          for n in projects]),
        "BOOTSTRAP_URL": URL,
        "BOOTSTRAP_CI_TOKEN_SECRET": token_secret,
    }
    out = io.StringIO()
    # `sentry exec` runs the text with __name__ == "__main__"; the script ends by sys.exit(main()).
    with mock.patch.dict(os.environ, env), redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        exec(compile(as_sentry_exec_runs_it(bootstrap_script()), "<string>", "exec"),
             {"__name__": "__main__", "__file__": "<script>"})
    assert (exit_.value.code == 0) == expect_success, out.getvalue()
    if not expect_success:
        return out.getvalue(), None
    return out.getvalue(), json.loads(report_from_output(out.getvalue()))


def test_first_run_reuses_and_renames_the_default_organization_and_creates_team_projects_and_keys(db):
    _, report = run(["api", "web"])
    orgs = fake_sentry.Organization.objects.rows
    assert len(orgs) == 1 and orgs[0].name == "Acme"
    assert report["organization"] == "sentry"  # read back, never predicted from the name
    assert report["team"] == "backend"
    assert set(report["projects"]) == {"api", "web"}
    for name, project in report["projects"].items():
        stored = fake_sentry.Project.objects.filter(name=name).first()
        assert project["id"] == stored.id and project["slug"] == stored.slug
        assert project["dsn"] == fake_sentry.ProjectKey.get_default(stored).dsn_public
    assert db.signals == ["project_created:api", "project_created:web"]


def test_admin_gets_the_password_and_stays_owner_of_the_organization_and_the_team(db):
    run(["api"])
    admin = fake_sentry.User.objects.filter(username="ops@example.com").first()
    assert admin.check_password(PASSWORD) and admin.is_superuser and admin.is_staff
    member = fake_sentry.OrganizationMember.objects.filter(user_id=admin.id).first()
    assert member.role == "owner"
    team = fake_sentry.Team.objects.filter(slug="backend").first()
    assert fake_sentry.OrganizationMemberTeam.objects.filter(team=team, organizationmember=member).exists()


def test_the_install_is_marked_configured_where_this_release_keeps_the_mark(release):
    db = release(layout="application_state")  # recent releases: sentry.application_state
    run(["api"])
    assert db.state == {"sentry:version-configured": "26.8.0"} and db.options == {}
    db = release(layout="options")  # before: sentry.options
    run(["api"])
    assert db.options == {"sentry:version-configured": "26.8.0"} and db.state == {}


def test_a_release_that_keeps_the_mark_nowhere_known_still_bootstraps(release):
    db = release(layout="nowhere")  # options.get raises UnknownOption, no application_state
    output, report = run(["api"])
    assert "note: sentry:version-configured could not be set (options: UnknownOption" in output
    assert set(report["projects"]) == {"api"} and db.options == db.state == {}


def test_rerun_writes_nothing_and_reports_the_same(db):
    _, first = run(["api", "web"])
    writes = len(db.writes)
    _, second = run(["api", "web"])
    assert db.writes[writes:] == []
    assert second == first


def test_adding_a_project_creates_only_that_project(db):
    _, first = run(["api"])
    writes = len(db.writes)
    _, second = run(["api", "billing"])
    assert db.writes[writes:] == ["create Project", "create ProjectKey", "create ProjectTeam"]
    assert second["projects"]["api"] == first["projects"]["api"]


def test_a_project_pending_deletion_is_skipped_and_replaced(db):
    _, first = run(["api"])
    old = fake_sentry.Project.objects.filter(name="api").first()
    old.status = fake_sentry.PENDING_DELETION
    old.slug = "api-deleted"
    _, second = run(["api"])
    assert second["projects"]["api"]["id"] != first["projects"]["api"]["id"]
    assert second["projects"]["api"]["dsn"] != first["projects"]["api"]["dsn"]


def test_a_changed_admin_password_is_applied(db):
    run(["api"], password="First-Password-1")
    run(["api"], password="Second-Password-2")
    admin = fake_sentry.User.objects.filter(username="ops@example.com").first()
    assert admin.check_password("Second-Password-2")


def test_the_ci_token_is_created_once_with_exactly_the_configured_value(db):
    _, report = run(["api"])
    tokens = fake_sentry.OrgAuthToken.objects.rows
    assert len(tokens) == 1 and report["auth_token_active"] is True
    expected = module.org_auth_token(TOKEN_SECRET, URL, report["organization"])
    assert tokens[0].token_hashed == fake_sentry.hash_token(expected)
    assert tokens[0].scope_list == ["org:ci"] and tokens[0].token_last_characters == expected[-4:]
    run(["api"])
    assert len(fake_sentry.OrgAuthToken.objects.rows) == 1


def test_a_revoked_ci_token_is_reported_not_revived(db):
    run(["api"])
    fake_sentry.OrgAuthToken.objects.rows[0].date_deactivated = "2026-09-01"
    writes = len(db.writes)
    _, report = run(["api"])
    assert report["auth_token_active"] is False and db.writes[writes:] == []


def test_org_auth_token_has_the_shape_sentry_and_sentry_cli_parse():
    token = module.org_auth_token(TOKEN_SECRET, URL + "/", "acme")
    prefix, payload, secret = token.split("_")
    assert prefix == "sntrys" and token.count("_") == 2
    data = json.loads(base64.b64decode(payload))
    assert data["iat"] and data["url"] == URL and data["region_url"] == URL and data["org"] == "acme"
    assert len(base64.b64decode(secret + "=")) == 32 and not secret.endswith("=")
    assert token == module.org_auth_token(TOKEN_SECRET, URL, "acme")


def test_no_secret_is_ever_printed(db):
    output, report = run(["api"])
    token = module.org_auth_token(TOKEN_SECRET, URL, report["organization"])
    for secret in (PASSWORD, TOKEN_SECRET, token, token.split("_")[2]):
        assert secret not in output


def test_a_failure_prints_the_sentinel_exits_non_zero_and_hides_secrets(db):
    fake_sentry.User.objects.rows.clear()  # createuser did not run
    output, _ = run(["api"], expect_success=False)
    assert module.FAILURE_PREFIX in output and "createuser" in output
    assert module.REPORT_PREFIX not in output and PASSWORD not in output


def test_the_script_is_importable_outside_sentry_and_leaves_sentry_exec_its_header():
    text = bootstrap_script()
    tree = ast.parse(text)
    top_level_imports = {
        alias.name.split(".")[0]
        for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    } | {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert top_level_imports <= {"base64", "importlib", "json", "os", "sys", "types"}
    # `sentry exec` adds its configure() header only when the script does not contain this line.
    assert "from sentry.runner import configure" not in text
    assert "from __future__" not in text  # exec.py would split the script around it


def test_an_admin_demoted_in_the_ui_is_made_owner_again(db):
    admin = fake_sentry.User.objects.filter(username="ops@example.com").first()
    fake_sentry.OrganizationMember.objects.filter(user_id=admin.id).first().role = "member"
    run(["api"])
    assert fake_sentry.OrganizationMember.objects.filter(user_id=admin.id).first().role == "owner"


def test_a_secret_inside_an_error_message_is_masked():
    env = {"BOOTSTRAP_ADMIN_PASSWORD": PASSWORD, "BOOTSTRAP_CI_TOKEN_SECRET": TOKEN_SECRET}
    out = io.StringIO()
    with mock.patch.object(module, "run", side_effect=RuntimeError(f"rejected {PASSWORD} and {TOKEN_SECRET}")), \
            redirect_stdout(out):
        assert module.main(env) == 1
    assert PASSWORD not in out.getvalue() and TOKEN_SECRET not in out.getvalue()
    assert out.getvalue().startswith(module.FAILURE_PREFIX + "RuntimeError: rejected [secret]")


def test_a_project_whose_keys_were_all_revoked_gets_a_new_default_key(db):
    _, first = run(["api"])
    project = fake_sentry.Project.objects.filter(name="api").first()
    for key in fake_sentry.ProjectKey.objects.filter(project=project).items:
        key.status = 1  # ProjectKeyStatus.INACTIVE
    _, second = run(["api"])
    assert second["projects"]["api"]["dsn"] != first["projects"]["api"]["dsn"]
    assert second["projects"]["api"]["dsn"] == fake_sentry.ProjectKey.get_default(project).dsn_public


def test_new_projects_get_what_createproject_gives_them_and_existing_ones_are_left_alone(db):
    _, report = run(["api", "game"], platforms={"game": "unity"})
    game = fake_sentry.Project.objects.get(name="game")
    assert game.get_option("sentry:builtin_symbol_sources") == fake_sentry.SYMBOL_SOURCES["by_platform"]["unity"]
    assert fake_sentry.Project.objects.get(name="api").get_option("sentry:builtin_symbol_sources") is None
    assert db.defaults == ["api", "game"]  # apply_default_project_settings, once per new project
    writes = len(db.writes)
    run(["api", "game"], platforms={"game": "unity"})
    assert db.defaults == ["api", "game"] and db.writes[writes:] == []
    assert fake_sentry.Project.objects.get(name="Internal").get_option("sentry:builtin_symbol_sources") is None


def test_a_release_without_those_defaults_still_gets_its_projects(release):
    db = release(project_defaults=False)
    _, report = run(["game"], platforms={"game": "unity"})
    assert set(report["projects"]) == {"game"} and db.defaults == []


def test_a_project_whose_defaults_fail_is_not_left_half_made_and_the_rerun_makes_it(db):
    settings = sys.modules[fake_sentry.REFERENCE["project_defaults"]["settings"]["module"]]
    with mock.patch.object(settings, "apply_default_project_settings", side_effect=RuntimeError("seer down")):
        output, _ = run(["api"], expect_success=False)
    assert "RuntimeError: seer down" in output
    assert not fake_sentry.Project.objects.filter(name="api").exists()  # rolled back with its key and team link
    projects = {p.id for p in fake_sentry.Project.objects.all()}
    assert {k.project_id for k in fake_sentry.ProjectKey.objects.all()} <= projects
    assert {t.project_id for t in fake_sentry.ProjectTeam.objects.all()} <= projects
    _, report = run(["api"])
    assert report["projects"]["api"]["dsn"] and db.defaults == ["api"]


def test_the_stand_in_refuses_what_sentrys_models_do_not_have():
    fake_sentry.install()
    try:
        with pytest.raises(TypeError, match="unexpected keyword arguments: 'owner'"):
            fake_sentry.Organization.objects.create(name="Acme", owner=1)
        with pytest.raises(fake_sentry.FieldError, match="Cannot resolve keyword 'user' into field"):
            fake_sentry.OrganizationMember.objects.filter(user=1)  # a HybridCloudForeignKey: user_id only
        with pytest.raises(fake_sentry.FieldError, match="Unsupported lookup 'icontains'"):
            fake_sentry.Team.objects.filter(name__icontains="x")
        org = fake_sentry.Organization.objects.create(name="Acme")
        org.owner_name = "x"
        with pytest.raises(AttributeError, match="Organization has no field owner_name"):
            org.save()
        with pytest.raises(fake_sentry.Project.DoesNotExist):
            fake_sentry.Project.objects.get(name="nothing")
        fake_sentry.Organization.objects.rows.clear()
        with pytest.raises(IndexError):
            fake_sentry.Organization.get_default()
        for name, spec in fake_sentry.REFERENCE["models"].items():
            assert spec["read"] and "id" in spec["fields"], name
    finally:
        fake_sentry.uninstall()
