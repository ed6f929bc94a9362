"""The ORM half of the Sentry stand-in (tests/fake_sentry.py): Sentry's models with exactly the
fields tests/reference/sentry_models.json lists, and a QuerySet as strict as Django's about them.

A field a model does not have fails as it would in Sentry: TypeError on create, FieldError on a
filter or an ordering, and on save a value Django would silently drop. `DB` counts every write.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import uuid
from pathlib import Path

REFERENCE = json.loads((Path(__file__).parent / "reference" / "sentry_models.json").read_text())
STATUS = {name: {k: v for k, v in values.items() if not k.startswith("_")}
          for name, values in REFERENCE["statuses"].items()}
URL_PREFIX = "https://errors.example.com"
ACTIVE = STATUS["ObjectStatus"]["ACTIVE"]
PENDING_DELETION = STATUS["ObjectStatus"]["PENDING_DELETION"]


class FieldError(Exception):
    """django.core.exceptions.FieldError"""


class Database:
    def __init__(self):
        self.reset()

    def reset(self):
        self.writes: list[str] = []
        self.ids = itertools.count(1)
        self.options: dict[str, str] = {}
        self.state: dict[str, str] = {}
        self.project_options: dict[tuple[int, str], object] = {}
        self.signals: list[str] = []
        self.defaults: list[str] = []


DB = Database()

# Values a field takes when not given (the model's `default=`); every other field starts as None.
DEFAULTS = {
    "User": {"is_staff": False, "is_active": True, "is_superuser": False, "password": ""},
    "Organization": {"status": STATUS["OrganizationStatus"]["ACTIVE"]},
    "OrganizationMember": {"role": "member", "user_is_active": True, "has_global_access": True},
    "OrganizationMemberTeam": {"is_active": True},
    "Team": {"status": STATUS["TeamStatus"]["ACTIVE"]},
    "Project": {"status": ACTIVE, "public": False},
    "ProjectKey": {"status": STATUS["ProjectKeyStatus"]["ACTIVE"], "roles": ("store",), "use_case": "user"},
}


def _spec(model) -> dict:
    return REFERENCE["models"][model.__name__]


def _names(model) -> set[str]:
    spec = _spec(model)
    return {*spec["fields"], *spec["fk"], *(f"{fk}_id" for fk in spec["fk"])}


def _choices(model) -> str:
    spec = _spec(model)
    return ", ".join(sorted({*spec["fields"], *spec["fk"], *(f"{fk}_id" for fk in spec["fk"]), *spec["m2m"]}))


class Query:
    def __init__(self, model, items, ordered=False):
        self.model = model
        self.items = list(items)
        self.ordered = ordered

    def filter(self, **conditions):
        tests = [_condition(self.model, key, value) for key, value in conditions.items()]
        return Query(self.model, (o for o in self.items if all(test(o) for test in tests)), self.ordered)

    def order_by(self, *names):
        items = self.items
        for name in reversed(names):
            field = name.lstrip("-")
            if field not in _names(self.model) and field != "pk":
                raise FieldError(f"Cannot resolve keyword '{field}' into field. Choices are: {_choices(self.model)}")
            items = sorted(items, key=lambda o: getattr(o, "id" if field == "pk" else field), reverse=name[0] == "-")
        return Query(self.model, items, ordered=True)

    def first(self):
        """The first row by the query's order, by primary key when it has none (as Django)."""
        items = self.items if self.ordered else self.order_by("id").items
        return items[0] if items else None

    def exists(self):
        return bool(self.items)

    def count(self):
        return len(self.items)

    def get(self, **conditions):
        found = self.filter(**conditions).items
        if not found:
            raise self.model.DoesNotExist(f"{self.model.__name__} matching query does not exist.")
        if len(found) > 1:
            raise self.model.MultipleObjectsReturned(f"get() returned more than one {self.model.__name__}")
        return found[0]

    def __getitem__(self, index):
        return self.items[index]

    def __iter__(self):
        return iter(self.items)


def _condition(model, key, value):
    """One keyword of filter(): a field of `model` (or of the model a foreign key points at),
    then optionally `exact`, `in` or `isnull`; anything else is Django's FieldError."""
    parts = key.split("__")
    target = model
    path = []
    while parts:
        part = parts.pop(0)
        if part in _names(target) or part == "pk":
            path.append("id" if part == "pk" else part)
            related = _spec(target)["fk"].get(part)
            if related and parts and parts[0] not in ("exact", "in", "isnull"):
                target = MODELS[related]
                continue
            break
        if part in _spec(target)["m2m"]:
            raise FieldError(f"the fake does not model filtering on {target.__name__}.{part}")
        raise FieldError(f"Cannot resolve keyword '{part}' into field. Choices are: {_choices(target)}")
    op = parts.pop(0) if parts else "exact"
    if parts or op not in ("exact", "in", "isnull"):
        raise FieldError(f"Unsupported lookup '{'__'.join([op, *parts])}' for {key}")

    def read(obj):
        for name in path:
            if obj is None:
                return None
            obj = getattr(obj, name, None)
        return obj

    def comparable(v):
        return v.id if isinstance(v, Model) else v

    if op == "isnull":
        return lambda o: (read(o) is None) == bool(value)
    if op == "in":
        wanted = {comparable(v) for v in value}
        return lambda o: comparable(read(o)) in wanted
    return lambda o: comparable(read(o)) == comparable(value)


class Manager:
    def __init__(self, model):
        self.model = model
        self.rows = []

    def all(self):
        return Query(self.model, self.rows)

    def filter(self, **conditions):
        return self.all().filter(**conditions)

    def get(self, **conditions):
        return self.all().get(**conditions)

    def create(self, **fields):
        obj = self.model(**fields)
        obj.save()
        return obj


class Model:
    class DoesNotExist(Exception):
        pass

    class MultipleObjectsReturned(Exception):
        pass

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.DoesNotExist = type("DoesNotExist", (Model.DoesNotExist,), {})
        cls.MultipleObjectsReturned = type("MultipleObjectsReturned", (Model.MultipleObjectsReturned,), {})

    def __init__(self, **fields):
        unknown = sorted(set(fields) - _names(type(self)))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments: "
                            + ", ".join(repr(u) for u in unknown))
        for name in _spec(type(self))["fields"]:
            object.__setattr__(self, name, copy.copy(DEFAULTS.get(type(self).__name__, {}).get(name)))
        for fk in _spec(type(self))["fk"]:
            object.__setattr__(self, fk, None)
            object.__setattr__(self, f"{fk}_id", None)
        for name, value in fields.items():
            setattr(self, name, value)

    def __setattr__(self, name, value):
        fks = _spec(type(self))["fk"]
        if name in fks:  # a related object: its id follows
            object.__setattr__(self, f"{name}_id", value.id if value is not None else None)
        elif name.endswith("_id") and name[:-3] in fks:
            current = self.__dict__.get(name[:-3])
            if current is not None and current.id != value:
                object.__setattr__(self, name[:-3], None)
        object.__setattr__(self, name, value)

    @property
    def pk(self):
        return self.id

    def save(self):
        stray = sorted(n for n in self.__dict__ if not n.startswith("_") and n not in _names(type(self)))
        if stray:
            raise AttributeError(f"{type(self).__name__} has no field {', '.join(stray)}: Django would not store it")
        manager = type(self).objects
        if self.id is None:
            self.id = next(DB.ids)
            self.before_create()
            manager.rows.append(self)
            DB.writes.append(f"create {type(self).__name__}")
            self.after_create()
        else:
            DB.writes.append(f"save {type(self).__name__}")

    def before_create(self):
        pass

    def after_create(self):
        pass


def _slugify(model, name, **scope):
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug, n = base, 1
    while model.objects.filter(slug=slug, **scope).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class User(Model):
    def check_password(self, password):
        return bool(self.password) and self.password == hashlib.sha256(password.encode()).hexdigest()

    def set_password(self, password):
        self.password = hashlib.sha256(password.encode()).hexdigest()


class Organization(Model):
    def before_create(self):
        self.slug = self.slug or _slugify(Organization, self.name)

    @classmethod
    def get_default(cls):
        return cls.objects.filter(status=STATUS["OrganizationStatus"]["ACTIVE"])[0]


class OrganizationMember(Model):
    pass


class OrganizationMemberTeam(Model):
    pass


class Team(Model):
    def before_create(self):
        self.slug = self.slug or _slugify(Team, self.name, organization=self.organization)


class ProjectTeam(Model):
    pass


class Project(Model):
    def before_create(self):
        self.slug = self.slug or _slugify(Project, self.name, organization=self.organization)

    def after_create(self):
        # sentry.receivers.core.create_keys_for_project (post_save)
        ProjectKey.objects.create(project=self, label="Default")

    def add_team(self, team):
        if ProjectTeam.objects.filter(project=self, team=team).exists():
            return False
        ProjectTeam.objects.create(project=self, team=team)
        return True

    def get_option(self, key, default=None):
        return DB.project_options.get((self.id, key), default)

    def update_option(self, key, value):
        DB.project_options[(self.id, key)] = value
        DB.writes.append(f"project option {key}")
        return True


class ProjectKey(Model):
    def before_create(self):
        self.public_key = self.public_key or uuid.uuid4().hex
        self.secret_key = self.secret_key or uuid.uuid4().hex

    @classmethod
    def get_default(cls, project):
        active = cls.objects.filter(project=project, status=STATUS["ProjectKeyStatus"]["ACTIVE"]).order_by("id")
        return next((k for k in active if "store" in k.roles), None)

    @property
    def dsn_public(self):
        scheme, host = URL_PREFIX.split("://")
        return f"{scheme}://{self.public_key}@{host}/{self.project_id}"


class OrgAuthToken(Model):
    pass


MODELS = {m.__name__: m for m in (User, Organization, OrganizationMember, OrganizationMemberTeam, Team, ProjectTeam,
                                  Project, ProjectKey, OrgAuthToken)}
assert set(MODELS) == set(REFERENCE["models"])
