"""An in-memory stand-in for the parts of Sentry the bootstrap script touches.

It mirrors the behaviour the script relies on, as read in getsentry/sentry: after `sentry
upgrade` the default organization `sentry`, team `sentry` and project `internal` exist; a new
Project gets a "Default" ProjectKey (post_save receiver); slugs are derived from names by the
models; `ProjectKey.get_default` returns the first active key; `dsn_public` is built from the
URL prefix. Every write is counted so tests can prove that a rerun writes nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sys
import types
import uuid

URL_PREFIX = "https://errors.example.com"
ACTIVE, PENDING_DELETION = 0, 1


class Database:
    def __init__(self):
        self.writes: list[str] = []
        self.ids = itertools.count(1)
        self.options: dict[str, str] = {}
        self.signals: list[str] = []


DB = Database()


class Query:
    def __init__(self, items):
        self.items = list(items)

    def filter(self, **conditions):
        return Query(o for o in self.items if all(getattr(o, k, None) == v for k, v in conditions.items()))

    def order_by(self, name):
        return Query(sorted(self.items, key=lambda o: getattr(o, name)))

    def first(self):
        return self.items[0] if self.items else None

    def exists(self):
        return bool(self.items)


class Manager:
    def __init__(self, model):
        self.model = model
        self.rows = []

    def filter(self, **conditions):
        return Query(self.rows).filter(**conditions)

    def create(self, **fields):
        obj = self.model(**fields)
        obj.id = next(DB.ids)
        obj.created()
        self.rows.append(obj)
        DB.writes.append(f"create {self.model.__name__}")
        obj.after_create()
        return obj


class Model:
    def __init__(self, **fields):
        self.__dict__.update(fields)

    def created(self):
        pass

    def after_create(self):
        pass

    def save(self):
        DB.writes.append(f"save {type(self).__name__}")


def _slugify(model, name, **scope):
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug, n = base, 1
    while model.objects.filter(slug=slug, **scope).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class User(Model):
    is_superuser = is_staff = False
    is_active = True
    password = ""

    def check_password(self, password):
        return bool(self.password) and self.password == hashlib.sha256(password.encode()).hexdigest()

    def set_password(self, password):
        self.password = hashlib.sha256(password.encode()).hexdigest()


class Organization(Model):
    status = ACTIVE

    def created(self):
        if not getattr(self, "slug", None):
            self.slug = _slugify(Organization, self.name)

    @classmethod
    def get_default(cls):
        return cls.objects.filter(status=ACTIVE).first()


class OrganizationMember(Model):
    pass


class OrganizationMemberTeam(Model):
    pass


class Team(Model):
    status = ACTIVE

    def created(self):
        if not getattr(self, "slug", None):
            self.slug = _slugify(Team, self.name, organization=self.organization)


class ProjectTeam(Model):
    pass


class Project(Model):
    status = ACTIVE
    platform = None

    def created(self):
        if not getattr(self, "slug", None):
            self.slug = _slugify(Project, self.name, organization=self.organization)

    def after_create(self):
        # sentry.receivers.core.create_keys_for_project
        ProjectKey.objects.create(project=self, label="Default")

    def add_team(self, team):
        if ProjectTeam.objects.filter(project=self, team=team).exists():
            return False
        ProjectTeam.objects.create(project=self, team=team)
        return True


class ProjectKey(Model):
    status = ACTIVE

    def created(self):
        self.public_key = uuid.uuid4().hex

    @classmethod
    def get_default(cls, project):
        return cls.objects.filter(project=project, status=ACTIVE).order_by("id").first()

    @property
    def dsn_public(self):
        scheme, host = URL_PREFIX.split("://")
        return f"{scheme}://{self.public_key}@{host}/{self.project.id}"


class OrgAuthToken(Model):
    date_deactivated = None


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class _Options:
    def get(self, key):
        return DB.options.get(key)

    def set(self, key, value, **_):
        DB.options[key] = value
        DB.writes.append(f"option {key}")


class _Signal:
    def __init__(self, name):
        self.name = name

    def send_robust(self, sender, **kwargs):
        DB.signals.append(f"{self.name}:{kwargs['project'].name}")
        return []


def seed_after_upgrade_and_createuser(admin_email="ops@example.com"):
    """What `sentry upgrade` (post_upgrade) and `sentry createuser --no-password` leave behind."""
    org = Organization.objects.create(name="Sentry", slug="sentry")
    team = Team.objects.create(organization=org, name="Sentry", slug="sentry")
    internal = Project.objects.create(organization=org, name="Internal", slug="internal")
    internal.add_team(team)
    user = User.objects.create(username=admin_email, email=admin_email, is_superuser=True, is_staff=True)
    member = OrganizationMember.objects.create(organization=org, user_id=user.id, role="owner")
    OrganizationMemberTeam.objects.create(team=team, organizationmember=member)
    DB.writes.clear()
    return org


def install():
    """Register stand-ins under the import names the script uses; returns a fresh database."""
    global DB
    DB = Database()
    for model in (User, Organization, OrganizationMember, OrganizationMemberTeam, Team, ProjectTeam,
                  Project, ProjectKey, OrgAuthToken):
        model.objects = Manager(model)
    modules = {
        "django": {}, "django.conf": {"settings": types.SimpleNamespace(configured=True)},
        "sentry": {"options": _Options(), "get_version": lambda: "26.8.0",
                   "roles": types.SimpleNamespace(get_top_dog=lambda: types.SimpleNamespace(id="owner"))},
        "sentry.runner": {"configure": lambda: None},
        "sentry.constants": {"ObjectStatus": types.SimpleNamespace(ACTIVE=ACTIVE, PENDING_DELETION=PENDING_DELETION)},
        "sentry.models": {},
        "sentry.models.organization": {"Organization": Organization},
        "sentry.models.organizationmember": {"OrganizationMember": OrganizationMember},
        "sentry.models.organizationmemberteam": {"OrganizationMemberTeam": OrganizationMemberTeam},
        "sentry.models.orgauthtoken": {"OrgAuthToken": OrgAuthToken},
        "sentry.models.project": {"Project": Project},
        "sentry.models.projectkey": {"ProjectKey": ProjectKey},
        "sentry.models.projectteam": {"ProjectTeam": ProjectTeam},
        "sentry.models.team": {"Team": Team, "TeamStatus": types.SimpleNamespace(ACTIVE=ACTIVE)},
        "sentry.signals": {"project_created": _Signal("project_created")},
        "sentry.users": {}, "sentry.users.models": {}, "sentry.users.models.user": {"User": User},
        "sentry.utils": {}, "sentry.utils.security": {},
        "sentry.utils.security.orgauthtoken_token": {"hash_token": hash_token},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        module.__path__ = []
        sys.modules[name] = module
    sys.modules["sentry"].options = sys.modules["sentry"].__dict__["options"]
    return DB


def uninstall():
    for name in list(sys.modules):
        if name.split(".")[0] in ("sentry", "django") and getattr(sys.modules[name], "__file__", None) is None:
            del sys.modules[name]
