# Runs inside the GlitchTip image as `./manage.py shell -c "<this file>"`, after migrations.
#
# Idempotent: it creates or updates the superuser, the organization, one team and every project
# named in BOOTSTRAP_PROJECTS, and never touches anything else. Existing projects keep their
# keys, so DSNs stay stable across runs. Its last stdout line is the report the program reads:
#   ERROR_TRACKING_REPORT={"organization": ..., "projects": {name: {"id", "slug", "dsn"}}}
# Nothing secret is printed (the password is read from the environment and never echoed).
import json
import os

from allauth.account.models import EmailAddress
from django.db import transaction

from apps.organizations_ext.constants import OrganizationUserRole
from apps.organizations_ext.models import Organization
from apps.projects.models import Project, ProjectKey
from apps.teams.models import Team
from apps.users.models import User

REPORT_PREFIX = "ERROR_TRACKING_REPORT="


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
    organization = Organization.objects.filter(name=name).first()
    if organization is None:
        organization = Organization.objects.create(name=name)
    if not organization.users.filter(pk=user.pk).exists():
        organization.add_user(user, role=OrganizationUserRole.OWNER)
    return organization


def ensure_team(organization, slug, user):
    team, _ = Team.objects.get_or_create(slug=slug, organization=organization)
    member = organization.organization_users.get(user=user)
    if not team.members.filter(pk=member.pk).exists():
        team.members.add(member)
    return team


def ensure_project(organization, team, name, platform):
    project = Project.objects.filter(organization=organization, name=name).first()
    if project is None:
        project = Project.objects.create(organization=organization, name=name, platform=platform)
    if not team.projects.filter(pk=project.pk).exists():
        team.projects.add(project)
    key = ProjectKey.objects.filter(project=project, is_active=True).order_by("id").first()
    if key is None:
        key = ProjectKey.objects.create(project=project)
    return {"id": project.id, "slug": project.slug, "dsn": key.get_dsn()}


def main():
    projects = json.loads(os.environ["BOOTSTRAP_PROJECTS"])
    with transaction.atomic():
        user = ensure_admin(os.environ["BOOTSTRAP_ADMIN_EMAIL"], os.environ["BOOTSTRAP_ADMIN_PASSWORD"])
        organization = ensure_organization(os.environ["BOOTSTRAP_ORGANIZATION"], user)
        team = ensure_team(organization, os.environ["BOOTSTRAP_TEAM"], user)
        report = {
            project["name"]: ensure_project(organization, team, project["name"], project["platform"])
            for project in projects
        }
    print(REPORT_PREFIX + json.dumps({"organization": organization.slug, "projects": report}, sort_keys=True))


main()
