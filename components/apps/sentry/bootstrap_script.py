# Runs inside the Sentry image as `sentry exec -c <this file's text>`, after `sentry upgrade` and
# `sentry createuser --no-password`. Idempotent: it converges the admin (password, superuser,
# owner), the organization (single-organization mode: the default one `sentry upgrade` created,
# renamed, never a second), one team, every configured project with its default key, and one
# organization auth token for CI uploads, and writes nothing when all of that already holds.
#
# Its last stdout line is the report the program reads (never a secret in it):
#   ERROR_TRACKING_REPORT={"organization": slug, "team": slug, "projects": {name: {id, slug, dsn}},
#                          "auth_token_active": bool | null}
# On any failure it prints ERROR_TRACKING_BOOTSTRAP_FAILED=<reason> and exits 1 (old `sentry exec`
# exited 0 on failure; the report line doubles as the success sentinel).
#
# Everything Sentry-specific is imported inside functions, so the program can import this module to
# compute the CI token (`org_auth_token`) exactly as the script does. Names checked against
# getsentry/sentry's model definitions for the 26.8.x line (tests/reference/sentry_models.json
# lists the fields and where each was read; tests/fake_sentry.py refuses any other).
import base64
import importlib
import json
import os
import sys
import types

REPORT_PREFIX = "ERROR_TRACKING_REPORT="
FAILURE_PREFIX = "ERROR_TRACKING_BOOTSTRAP_FAILED="
ORG_AUTH_TOKEN_PREFIX = "sntrys_"
# Sentry's `iat` is informative (sentry-cli ignores it, Sentry only needs it non-zero); fixed so
# the token is a pure function of its inputs and reruns find the same one.
TOKEN_ISSUED_AT = 1767225600.0
TOKEN_SCOPES = ["org:ci"]
DEFAULT_TOKEN_NAME = "error-tracking CI uploads"
VERSION_CONFIGURED = "sentry:version-configured"


def org_auth_token(secret_hex, url, organization_slug):
    """The organization auth token for `secret_hex` (32 random bytes as hex), in Sentry's format.

    `sntrys_<base64 JSON {iat, url, region_url, org}>_<unpadded base64 of the 32 bytes>`, which
    sentry-cli parses to find the server and organization by itself.
    """
    secret = bytes.fromhex(secret_hex)
    if len(secret) != 32:
        raise ValueError("the CI token secret must be 32 bytes (64 hex characters)")
    url = url.rstrip("/")
    payload = {"iat": TOKEN_ISSUED_AT, "url": url, "region_url": url, "org": organization_slug}
    encoded = base64.b64encode(json.dumps(payload, sort_keys=True).encode("ascii")).decode("ascii")
    return f"{ORG_AUTH_TOKEN_PREFIX}{encoded}_{base64.b64encode(secret).decode('ascii').rstrip('=')}"


def _sentry():
    """Sentry's own modules (only importable inside the Sentry image), Django configured first."""
    from django.conf import settings

    if not settings.configured:  # `sentry exec` normally did this already
        import sentry.runner

        sentry.runner.configure()
    from django.db import router, transaction

    import sentry
    from sentry import options, roles
    from sentry.constants import ObjectStatus
    from sentry.models.organization import Organization
    from sentry.models.organizationmember import OrganizationMember
    from sentry.models.organizationmemberteam import OrganizationMemberTeam
    from sentry.models.orgauthtoken import OrgAuthToken
    from sentry.models.project import Project
    from sentry.models.projectkey import ProjectKey
    from sentry.models.projectteam import ProjectTeam
    from sentry.models.team import Team, TeamStatus
    from sentry.signals import project_created
    from sentry.utils.security.orgauthtoken_token import hash_token

    try:
        from sentry.users.models.user import User
    except ImportError:  # releases before the users app split
        from sentry.models.user import User
    return types.SimpleNamespace(
        sentry=sentry, options=options, roles=roles, ObjectStatus=ObjectStatus, Organization=Organization,
        OrganizationMember=OrganizationMember, OrganizationMemberTeam=OrganizationMemberTeam,
        OrgAuthToken=OrgAuthToken, Project=Project, ProjectKey=ProjectKey, ProjectTeam=ProjectTeam,
        Team=Team, TeamStatus=TeamStatus, project_created=project_created, hash_token=hash_token, User=User,
        router=router, transaction=transaction,
        # Recent releases keep application-generated state (the wizard's marker) out of `options`.
        application_state=_optional("sentry.application_state"),
        # What `sentry createproject` (runner/commands/createproject.py) gives a new project.
        set_default_symbol_sources=_optional("sentry.api.helpers.default_symbol_sources",
                                             "set_default_symbol_sources"),
        apply_default_project_settings=_optional("sentry.core.endpoints.team_projects",
                                                 "apply_default_project_settings"),
    )


def _optional(module, name=None):
    """A module (or one of its names) this Sentry release may not have: None then."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    return found if name is None else getattr(found, name, None)


def ensure_configured(s):
    """Mark the install configured, as the setup wizard would, so no wizard is shown.

    The marker lives in `sentry.application_state` where that exists and in `options` before; a
    release where neither knows it only shows the wizard to the first superuser, which is no
    reason to stop the bootstrap: a note is printed and it goes on. Returns where it is kept.
    """
    reasons = []
    for where, store in (("application_state", s.application_state), ("options", s.options)):
        if store is None:
            continue
        try:
            if not store.get(VERSION_CONFIGURED):
                store.set(VERSION_CONFIGURED, s.sentry.get_version())
            return where
        except Exception as error:  # this release does not keep the key there
            reasons.append(f"{where}: {type(error).__name__}: {error}")
    print(f"note: {VERSION_CONFIGURED} could not be set ({'; '.join(reasons)}); the setup wizard may ask once",
          flush=True)
    return None


def ensure_admin(s, email, password):
    user = s.User.objects.filter(username=email).first()
    if user is None:
        raise RuntimeError(f"no user {email}: `sentry createuser` must run before this script")
    changed = False
    if not (user.is_superuser and user.is_staff and user.is_active):
        user.is_superuser = user.is_staff = user.is_active = True
        changed = True
    if not user.check_password(password):
        user.set_password(password)
        changed = True
    if changed:
        user.save()
    return user


def ensure_organization(s, name):
    organization = s.Organization.get_default()
    if organization.name != name:
        # Only the display name: a slug change needs Sentry's slug reservation service.
        organization.name = name
        organization.save()
    return organization


def ensure_owner(s, organization, user):
    owner = s.roles.get_top_dog().id
    member = s.OrganizationMember.objects.filter(organization=organization, user_id=user.id).first()
    if member is None:
        member = s.OrganizationMember.objects.create(organization=organization, user_id=user.id, role=owner)
    elif member.role != owner:
        member.role = owner
        member.save()
    return member


def ensure_team(s, organization, name, member):
    team = (
        s.Team.objects.filter(organization=organization, name=name, status=s.TeamStatus.ACTIVE)
        .order_by("id")
        .first()
    )
    if team is None:
        team = s.Team.objects.create(organization=organization, name=name)
    if not s.OrganizationMemberTeam.objects.filter(team=team, organizationmember=member).exists():
        s.OrganizationMemberTeam.objects.create(team=team, organizationmember=member)
    return team


def ensure_project(s, organization, team, user, name, platform):
    # Projects pending deletion keep their name but are skipped: a fresh one takes their place.
    project = (
        s.Project.objects.filter(organization=organization, name=name, status=s.ObjectStatus.ACTIVE)
        .order_by("id")
        .first()
    )
    if project is None:
        # As `sentry createproject` does it: all or nothing, so a rerun finds no half-made project.
        with s.transaction.atomic(s.router.db_for_write(s.Project)):
            project = s.Project.objects.create(organization=organization, name=name, platform=platform)
            project.add_team(team)
            apply_project_defaults(s, organization, project)
            # What the UI does for a new project (default alert rule, onboarding); not fatal.
            s.project_created.send_robust(project=project, user=user, default_rules=True, sender=ensure_project)
    elif not s.ProjectTeam.objects.filter(project=project, team=team).exists():
        project.add_team(team)
    key = s.ProjectKey.get_default(project)
    if key is None:
        key = s.ProjectKey.objects.create(project=project, label="Default")
    return {"id": project.id, "slug": project.slug, "dsn": key.dsn_public}


def apply_project_defaults(s, organization, project):
    """What `sentry createproject` and the UI give a new project: the built-in symbol sources of its
    platform, then the settings the UI applies (inbound filters for JavaScript, disabled detectors,
    ...). A release without them gets what it would give itself."""
    if s.set_default_symbol_sources is not None:
        s.set_default_symbol_sources(project)
    if s.apply_default_project_settings is not None:
        s.apply_default_project_settings(organization, project)


def ensure_auth_token(s, organization, user, token, name):
    """Make sure a token with exactly this value exists; a revoked one is reported, not revived."""
    hashed = s.hash_token(token)
    existing = s.OrgAuthToken.objects.filter(token_hashed=hashed).first()
    if existing is None:
        s.OrgAuthToken.objects.create(
            organization_id=organization.id,
            name=name,
            scope_list=TOKEN_SCOPES,
            created_by_id=user.id,
            token_last_characters=token[-4:],
            token_hashed=hashed,
        )
        return True
    if existing.organization_id != organization.id:
        raise RuntimeError("the CI token belongs to another organization")
    return existing.date_deactivated is None


def run(environ):
    s = _sentry()
    projects = json.loads(environ["BOOTSTRAP_PROJECTS"])
    ensure_configured(s)
    user = ensure_admin(s, environ["BOOTSTRAP_ADMIN_EMAIL"], environ["BOOTSTRAP_ADMIN_PASSWORD"])
    organization = ensure_organization(s, environ["BOOTSTRAP_ORGANIZATION"])
    member = ensure_owner(s, organization, user)
    team = ensure_team(s, organization, environ["BOOTSTRAP_TEAM"], member)
    report = {
        p["name"]: ensure_project(s, organization, team, user, p["name"], p.get("platform"))
        for p in projects
    }
    token_active = None
    if environ.get("BOOTSTRAP_CI_TOKEN_SECRET"):
        token = org_auth_token(environ["BOOTSTRAP_CI_TOKEN_SECRET"], environ["BOOTSTRAP_URL"], organization.slug)
        token_active = ensure_auth_token(
            s, organization, user, token, environ.get("BOOTSTRAP_CI_TOKEN_NAME") or DEFAULT_TOKEN_NAME
        )
    return {
        "organization": organization.slug,
        "team": team.slug,
        "projects": report,
        "auth_token_active": token_active,
    }


def main(environ=None):
    environ = os.environ if environ is None else environ
    try:
        report = run(environ)
    except Exception as error:  # every failure ends in the sentinel line and a non-zero exit
        reason = f"{type(error).__name__}: {error}".replace("\n", " ")
        for secret in (environ.get("BOOTSTRAP_ADMIN_PASSWORD"), environ.get("BOOTSTRAP_CI_TOKEN_SECRET")):
            if secret:
                reason = reason.replace(secret, "[secret]")
        print(FAILURE_PREFIX + reason, flush=True)
        return 1
    print(REPORT_PREFIX + json.dumps(report, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
