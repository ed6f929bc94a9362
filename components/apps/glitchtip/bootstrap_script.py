# Runs inside the GlitchTip image as `./manage.py shell -c "<this file>"`, after migrations.
#
# Idempotent: it creates or updates the superuser (owner of the organization), the organization,
# one team, every project named in BOOTSTRAP_PROJECTS and the admin's API token for CI uploads,
# and never touches anything else; a rerun writes nothing. Existing projects keep their keys, so
# DSNs stay stable. Soft-deleted projects and organizations (is_deleted, kept until a worker purges
# them) count as gone: a name whose row is soft-deleted is created again, GlitchTip picks a fresh
# slug for it (the old one stays taken until the purge), and the new row has a new DSN. Slugs are
# GlitchTip's to choose, so they are read from the saved rows, never predicted.
# Works on GlitchTip 5.x and 6.x: organizations gained is_deleted only in 6.x, so the field is
# looked up, not assumed.
# Its last stdout line is the report the program reads:
#   ERROR_TRACKING_REPORT={"organization": slug, "projects": {name: {"id", "slug", "dsn"}}}
# Nothing secret is printed: the password and the token are read from the environment, never echoed.
import json
import os
import re

from allauth.account.models import EmailAddress
from django.db import transaction

from apps.api_tokens.models import APIToken
from apps.organizations_ext.constants import OrganizationUserRole
from apps.organizations_ext.models import Organization
from apps.projects.models import Project, ProjectKey
from apps.teams.models import Team
from apps.users.models import User

REPORT_PREFIX = "ERROR_TRACKING_REPORT="
# What sentry-cli / glitchtip-cli need to upload releases and source maps from CI.
CI_TOKEN_SCOPES = ("project:releases", "project:read", "org:read")


def live(model):
    """Rows not soft-deleted; every row on releases whose model has no is_deleted field."""
    if any(field.name == "is_deleted" for field in model._meta.get_fields()):
        return model.objects.filter(is_deleted=False)
    return model.objects.all()


def ensure_admin(email, password):
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_superuser(email=email, password=password)
    else:
        changed = False
        if not (user.is_superuser and user.is_staff and user.is_active):
            user.is_superuser = user.is_staff = user.is_active = True
            changed = True
        if not user.check_password(password):
            user.set_password(password)
            changed = True
        if changed:
            user.save()
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"primary": True, "verified": True}
    )
    return user


def ensure_organization(name, user):
    organization = live(Organization).filter(name=name).first()
    if organization is None:
        organization = Organization.objects.create(name=name)
    membership = organization.organization_users.filter(user=user).first()
    if membership is None:
        organization.add_user(user, role=OrganizationUserRole.OWNER)
    elif membership.role != OrganizationUserRole.OWNER:
        membership.role = OrganizationUserRole.OWNER
        membership.save(update_fields=["role"])
    return organization


def ensure_team(organization, slug, user):
    team, _ = Team.objects.get_or_create(slug=slug, organization=organization)
    member = organization.organization_users.get(user=user)
    if not team.members.filter(pk=member.pk).exists():
        team.members.add(member)
    return team


def ensure_project(organization, team, name, platform):
    project = live(Project).filter(organization=organization, name=name).first()
    if project is None:
        project = Project.objects.create(organization=organization, name=name, platform=platform)
    if not team.projects.filter(pk=project.pk).exists():
        team.projects.add(project)
    key = ProjectKey.objects.filter(project=project, is_active=True).order_by("id").first()
    if key is None:
        key = ProjectKey.objects.create(project=project)
    return {"id": project.id, "slug": project.slug, "dsn": key.get_dsn()}


def ensure_ci_token(user, label, value):
    """The admin's one token labelled `label`, holding `value` and the CI scopes (extra scopes kept).

    Token values are unique across users, so the row already holding `value` is the one kept,
    even when it belongs to a previous admin (the configured admin email changed) or another label.
    """
    labelled = list(APIToken.objects.filter(user=user, label=label).order_by("id"))
    token = APIToken.objects.filter(token=value).first() or (labelled[0] if labelled else APIToken())
    for duplicate in labelled:
        if duplicate.pk != token.pk:
            duplicate.delete()
    missing = [scope for scope in CI_TOKEN_SCOPES if not getattr(token.scopes, scope)]
    if token.pk is None or token.user_id != user.pk or token.label != label or token.token != value or missing:
        token.user, token.label, token.token = user, label, value
        for scope in missing:
            setattr(token.scopes, scope, True)  # as APIToken.add_permissions sets flags
        token.save()


def ci_token_from_env():
    value = os.environ["BOOTSTRAP_API_TOKEN"]
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise SystemExit("BOOTSTRAP_API_TOKEN must be 64 lower-case hex characters (value not shown)")
    label = os.environ["BOOTSTRAP_API_TOKEN_LABEL"]
    if not label.strip():
        raise SystemExit("BOOTSTRAP_API_TOKEN_LABEL must not be empty")
    return label, value


def main():
    projects = json.loads(os.environ["BOOTSTRAP_PROJECTS"])
    token_label, token_value = ci_token_from_env()
    with transaction.atomic():
        user = ensure_admin(os.environ["BOOTSTRAP_ADMIN_EMAIL"], os.environ["BOOTSTRAP_ADMIN_PASSWORD"])
        organization = ensure_organization(os.environ["BOOTSTRAP_ORGANIZATION"], user)
        team = ensure_team(organization, os.environ["BOOTSTRAP_TEAM"], user)
        report = {
            project["name"]: ensure_project(organization, team, project["name"], project["platform"])
            for project in projects
        }
        ensure_ci_token(user, token_label, token_value)
    print(REPORT_PREFIX + json.dumps({"organization": organization.slug, "projects": report}, sort_keys=True))


main()
