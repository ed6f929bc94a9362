"""A tiny in-memory stand-in for the GlitchTip models bootstrap_script.py uses.

It mirrors the behaviour the script relies on (a new Project gets one ProjectKey; the first user
added to an organization becomes its owner; DSN = scheme://keyhex@host/project_id), and counts
every write, so tests can prove that a re-run writes nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import types
import uuid

DOMAIN = "https://errors.example.com"


class Database:
    def __init__(self):
        self.writes: list[str] = []
        self.ids = itertools.count(1)


DB = Database()


class Query:
    def __init__(self, items):
        self.items = list(items)

    def filter(self, **conditions):
        def matches(obj):
            for key, value in conditions.items():
                if key.endswith("__iexact"):
                    if str(getattr(obj, key[:-8])).lower() != str(value).lower():
                        return False
                elif getattr(obj, key) != value:
                    return False
            return True

        return Query(o for o in self.items if matches(o))

    def order_by(self, field):
        return Query(sorted(self.items, key=lambda o: getattr(o, field)))

    def first(self):
        return self.items[0] if self.items else None

    def exists(self):
        return bool(self.items)

    def get(self, **conditions):
        found = self.filter(**conditions).items
        assert len(found) == 1
        return found[0]


class Manager:
    def __init__(self, model):
        self.model = model
        self.rows = []

    def filter(self, **conditions):
        return Query(self.rows).filter(**conditions)

    def create(self, **fields):
        obj = self.model(**fields)
        obj.id = obj.pk = next(DB.ids)
        self.rows.append(obj)
        DB.writes.append(f"create {self.model.__name__}")
        obj.created()
        return obj

    def get_or_create(self, defaults=None, **conditions):
        found = self.filter(**conditions).first()
        if found:
            return found, False
        return self.create(**conditions, **(defaults or {})), True


class Related:
    def __init__(self, label):
        self.label = label
        self.items = []

    def filter(self, **conditions):
        return Query(self.items).filter(**conditions)

    def add(self, item):
        if item not in self.items:
            self.items.append(item)
            DB.writes.append(f"add {self.label}")

    def all(self):
        return Query(self.items)

    def get(self, **conditions):
        return Query(self.items).get(**conditions)


class Model:
    def __init__(self, **fields):
        self.__dict__.update(fields)

    def created(self):
        pass

    def save(self):
        DB.writes.append(f"save {type(self).__name__}")


class User(Model):
    is_superuser = is_staff = False
    is_active = True
    password = ""

    def check_password(self, password):
        return self.password == password

    def set_password(self, password):
        self.password = password


def _create_superuser(email, password):
    return User.objects.create(email=email, password=password, is_superuser=True, is_staff=True)


class EmailAddress(Model):
    pass


class OrganizationUser(Model):
    pass


class Organization(Model):
    def created(self):
        self.slug = self.name.lower().replace(" ", "-")
        self.users = Related("organization user")
        self.organization_users = Related("organization membership")

    def add_user(self, user, role=0):
        role = 3 if not self.users.items else role
        self.users.add(user)
        self.organization_users.add(OrganizationUser(user=user, pk=next(DB.ids), role=role))


class Team(Model):
    def created(self):
        self.members = Related("team member")
        self.projects = Related("team project")


class Project(Model):
    def created(self):
        self.slug = self.name.lower().replace(" ", "-")
        ProjectKey.objects.create(project=self)


class ProjectKey(Model):
    is_active = True

    def created(self):
        self.public_key = uuid.uuid4()

    def get_dsn(self):
        scheme, host = DOMAIN.split("://")
        return f"{scheme}://{self.public_key.hex}@{host}/{self.project.id}"


def install():
    """Register the fake modules under the import names the script uses; returns a fresh DB."""
    global DB
    DB = Database()
    for model in (User, EmailAddress, Organization, Team, Project, ProjectKey):
        model.objects = Manager(model)
    User.objects.create_superuser = _create_superuser
    modules = {
        "allauth": {}, "allauth.account": {}, "allauth.account.models": {"EmailAddress": EmailAddress},
        "django": {}, "django.db": {"transaction": types.SimpleNamespace(atomic=contextlib.nullcontext)},
        "apps": {}, "apps.organizations_ext": {},
        "apps.organizations_ext.constants": {"OrganizationUserRole": types.SimpleNamespace(OWNER=3, MEMBER=0)},
        "apps.organizations_ext.models": {"Organization": Organization},
        "apps.projects": {}, "apps.projects.models": {"Project": Project, "ProjectKey": ProjectKey},
        "apps.teams": {}, "apps.teams.models": {"Team": Team},
        "apps.users": {}, "apps.users.models": {"User": User},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module
    return DB


def uninstall():
    for name in list(sys.modules):
        if name.split(".")[0] in ("allauth", "django", "apps") and isinstance(sys.modules[name], types.ModuleType) \
                and getattr(sys.modules[name], "__file__", None) is None:
            del sys.modules[name]
