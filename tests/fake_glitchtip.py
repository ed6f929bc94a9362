"""A tiny in-memory stand-in for the GlitchTip models bootstrap_script.py uses.

It mirrors what the script relies on, as read in GlitchTip's source (5.2 and 6.x): a new Project
gets one ProjectKey; the first user added to an organization becomes its owner; projects are
soft-deleted (`is_deleted`, managers `objects` / `undeleted_objects` / `marked_for_deletion`), and
organizations too on 6.x only; slugs come from the name, a reserved word gets `-1`, a slug still
held by any row (soft-deleted included) gets a suffix (projects `-2`, `-3`...; organizations a
random one like `-x7`); filtering on a field the model lacks
fails as Django's FieldError does; APIToken.scopes is a bit field whose flags ("project:read")
are read and set with getattr/setattr. Every write is counted, so tests can prove a rerun writes
nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import re
import secrets
import string
import sys
import types
import uuid

DOMAIN = "https://errors.example.com"
OWNER, MEMBER = 3, 0
TOKEN_FLAGS = ("project:read", "project:write", "project:admin", "project:releases", "team:read", "org:read")


class FieldError(Exception):
    pass


class Database:
    def __init__(self):
        self.writes: list[str] = []
        self.ids = itertools.count(1)


DB = Database()


class Query:
    def __init__(self, model, items):
        self.model, self.items = model, list(items)

    def filter(self, **conditions):
        def matches(obj):
            for key, value in conditions.items():
                field, _, lookup = key.partition("__")
                actual = getattr(obj, field)
                if lookup == "iexact" and str(actual).lower() != str(value).lower():
                    return False
                if not lookup and actual != value:
                    return False
            return True

        for key in conditions:
            if key.partition("__")[0] not in self.model.field_names():
                raise FieldError(f"Cannot resolve keyword '{key}' into field of {self.model.__name__}")
        return Query(self.model, (o for o in self.items if matches(o)))

    def all(self):
        return self

    def __iter__(self):
        return iter(list(self.items))

    def order_by(self, field):
        return Query(self.model, sorted(self.items, key=lambda o: getattr(o, field)))

    def first(self):
        return self.items[0] if self.items else None

    def exists(self):
        return bool(self.items)

    def get(self, **conditions):
        found = self.filter(**conditions).items
        assert len(found) == 1
        return found[0]


class Manager:
    """`deleted` None: every row (like `objects`); True/False: a SoftDeleteManager."""

    def __init__(self, model, rows, deleted=None):
        self.model, self.rows, self.deleted = model, rows, deleted

    def all(self):
        if self.deleted is None:
            return Query(self.model, self.rows)
        return Query(self.model, self.rows).filter(is_deleted=self.deleted)

    def filter(self, **conditions):
        return self.all().filter(**conditions)

    def create(self, **fields):
        obj = self.model(**fields)
        obj.save()
        return obj

    def get_or_create(self, defaults=None, **conditions):
        found = self.filter(**conditions).first()
        if found:
            return found, False
        return self.create(**conditions, **(defaults or {})), True


class Related:
    def __init__(self, model, label):
        self.model, self.label, self.items = model, label, []

    def filter(self, **conditions):
        return Query(self.model, self.items).filter(**conditions)

    def add(self, item):
        if item not in self.items:
            self.items.append(item)
            DB.writes.append(f"add {self.label}")

    def all(self):
        return Query(self.model, self.items)

    def get(self, **conditions):
        return self.filter(**conditions).get()


class Model:
    id = pk = None
    fields: tuple[str, ...] = ()

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @classmethod
    def field_names(cls):
        return {"id", "pk", *cls.fields}

    def created(self):
        pass

    def save(self, update_fields=None):
        if self.pk is None:
            self.id = self.pk = next(DB.ids)
            self.before_insert()
            type(self).objects.rows.append(self)
            DB.writes.append(f"create {type(self).__name__}")
            self.created()
        else:
            DB.writes.append(f"save {type(self).__name__}")

    def before_insert(self):
        pass

    def delete(self):
        type(self).objects.rows.remove(self)
        DB.writes.append(f"delete {type(self).__name__}")


def unique_slug(model, base, suffixes, **scope):
    """The slug, or the first `base-suffix` no row (soft-deleted included) holds."""
    taken = {row.slug for row in model.objects.filter(**scope).items}
    return next(slug for slug in itertools.chain([base], (f"{base}-{s}" for s in suffixes)) if slug not in taken)


def project_suffixes():
    """django-extensions' AutoSlugField: api-2, api-3..."""
    return itertools.count(2)


def organization_suffixes():
    """GlitchTip's OrganizationSlugField: random letters and digits, two at first (acme-x7)."""
    return ("".join(random.choices(string.ascii_lowercase + string.digits, k=n)) for n in itertools.count(2))


def slugify(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class User(Model):
    fields = ("email", "is_superuser", "is_staff", "is_active", "password")
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
    fields = ("user", "email", "primary", "verified")


class OrganizationUser(Model):
    fields = ("user", "organization", "role")


class Organization(Model):
    fields = ("name", "slug")

    def before_insert(self):
        base = slugify(self.name)
        base = base + "-1" if base in ("api", "admin", "settings") else base
        self.slug = unique_slug(Organization, base, organization_suffixes())

    def created(self):
        self.users = Related(User, "organization user")
        self.organization_users = Related(OrganizationUser, "organization membership")

    def add_user(self, user, role=MEMBER):
        role = OWNER if not self.users.items else role
        self.users.add(user)
        membership = OrganizationUser(user=user, organization=self, role=role)
        membership.save()
        self.organization_users.add(membership)
        return membership


class Team(Model):
    fields = ("slug", "organization")

    def created(self):
        self.members = Related(OrganizationUser, "team member")
        self.projects = Related(Project, "team project")


class Project(Model):
    fields = ("name", "slug", "organization", "platform", "is_deleted")
    is_deleted = False

    def before_insert(self):
        base = slugify(self.name)
        base = base + "-1" if base == "new" else base
        self.slug = unique_slug(Project, base, project_suffixes(), organization=self.organization)

    def created(self):
        ProjectKey.objects.create(project=self)


class ProjectKey(Model):
    fields = ("project", "is_active", "public_key")
    is_active = True

    def created(self):
        self.public_key = uuid.uuid4()

    def get_dsn(self):
        scheme, host = DOMAIN.split("://")
        return f"{scheme}://{self.public_key.hex}@{host}/{self.project.id}"


class Scopes:
    """Like django-bitfield's BitHandler: one attribute per flag, unknown flags refused."""

    def __init__(self, *flags):
        object.__setattr__(self, "_set", set(flags))

    def __getattr__(self, flag):
        if flag not in TOKEN_FLAGS:
            raise AttributeError(f"{flag} is not a valid flag")
        return flag in self._set

    def __setattr__(self, flag, value):
        if flag not in TOKEN_FLAGS:
            raise AttributeError(f"{flag} is not a valid flag")
        (self._set.add if value else self._set.discard)(flag)

    def flags(self):
        return set(self._set)


class IntegrityError(Exception):
    pass


class APIToken(Model):
    """token is unique across all users (CharField(64, unique=True) in GlitchTip)."""

    fields = ("token", "user", "label", "scopes")
    label = ""
    user = None

    def __init__(self, **fields):
        fields.setdefault("token", secrets.token_hex(32))
        fields.setdefault("scopes", Scopes())
        super().__init__(**fields)

    @property
    def user_id(self):
        return self.user.pk if self.user else None

    def save(self, update_fields=None):
        if any(row.token == self.token and row is not self for row in APIToken.objects.rows):
            raise IntegrityError("duplicate key value violates unique constraint on token")
        super().save(update_fields)


def install(organization_soft_delete=True):
    """Register the fake modules under the import names the script uses; returns a fresh DB.

    organization_soft_delete=False gives GlitchTip 5.x, whose organizations have no is_deleted.
    """
    global DB
    DB = Database()
    Organization.fields = ("name", "slug", "is_deleted") if organization_soft_delete else ("name", "slug")
    if organization_soft_delete:
        Organization.is_deleted = False
    elif hasattr(Organization, "is_deleted"):
        del Organization.is_deleted
    for model in (User, EmailAddress, OrganizationUser, Organization, Team, Project, ProjectKey, APIToken):
        model.objects = Manager(model, [])
        model._meta = types.SimpleNamespace(
            get_fields=lambda model=model: [types.SimpleNamespace(name=name) for name in model.fields]
        )
    Project.undeleted_objects = Manager(Project, Project.objects.rows, deleted=False)
    Project.marked_for_deletion = Manager(Project, Project.objects.rows, deleted=True)
    User.objects.create_superuser = _create_superuser
    roles = types.SimpleNamespace(OWNER=OWNER, MEMBER=MEMBER)
    modules = {
        "allauth": {}, "allauth.account": {}, "allauth.account.models": {"EmailAddress": EmailAddress},
        "django": {}, "django.db": {"transaction": types.SimpleNamespace(atomic=contextlib.nullcontext)},
        "apps": {}, "apps.api_tokens": {}, "apps.api_tokens.models": {"APIToken": APIToken},
        "apps.organizations_ext": {},
        "apps.organizations_ext.constants": {"OrganizationUserRole": roles},
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
