"""An in-memory stand-in for the parts of Sentry the bootstrap script touches, built from Sentry's
own model definitions (tests/reference/sentry_models.json, read from getsentry/sentry for the
26.8.x line) so that a wrong field or filter fails a test instead of passing: the models and their
strict QuerySet are in tests/fake_sentry_models.py; this module registers them, with `options`,
`application_state`, signals, transactions and the project defaults, under Sentry's import names.

Behaviour mirrored from the source: after `sentry upgrade` the default organization `sentry`, team
`sentry` and project `internal` exist; a new Project gets a "Default" key (post_save receiver); slugs
come from names; `ProjectKey.get_default` is the first active key with the store role; `dsn_public`
is built from the URL prefix; `sentry:version-configured` lives in `sentry.application_state` (new
layout) or `sentry.options` (old). Every write is counted so tests can prove a rerun writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import types

from tests.fake_sentry_models import (  # noqa: F401  (the names tests read from here)
    ACTIVE, DB, MODELS, PENDING_DELETION, REFERENCE, STATUS, URL_PREFIX, FieldError, Organization,
    OrganizationMember, OrganizationMemberTeam, OrgAuthToken, Project, ProjectKey, ProjectTeam, Team, User, Manager,
)

VERSION_CONFIGURED = "sentry:version-configured"
# Where `sentry:version-configured` is kept by the release modelled (install's `layout`).
LAYOUTS = ("application_state", "options", "nowhere")


class UnknownOption(KeyError):
    """sentry.options.manager.UnknownOption: a key this release does not register."""


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class _Options:
    """sentry.options: only registered keys may be read or written."""

    def __init__(self, registered):
        self.registered = set(registered)

    def _check(self, key):
        if key not in self.registered:
            raise UnknownOption(key)

    def get(self, key):
        self._check(key)
        return DB.options.get(key, "")

    def set(self, key, value, **_):
        self._check(key)
        DB.options[key] = value
        DB.writes.append(f"option {key}")
        return True


def _state_get(name):
    if name not in REFERENCE["application_state"]["keys"]:
        raise ValueError(f"Unknown application state key: {name}")
    return DB.state.get(name, "")


def _state_set(name, value):
    if name not in REFERENCE["application_state"]["keys"]:
        raise ValueError(f"Unknown application state key: {name}")
    if not isinstance(value, str):
        raise TypeError(f"Application state {name} requires a string")
    DB.state[name] = value
    DB.writes.append(f"state {name}")
    return True


class _Signal:
    def __init__(self, name):
        self.name = name

    def send_robust(self, sender, **kwargs):
        DB.signals.append(f"{self.name}:{kwargs['project'].name}")
        return []


SYMBOL_SOURCES = REFERENCE["project_defaults"]["symbol_sources"]


def set_default_symbol_sources(project, organization=None):
    """What the platform's built-in symbol sources are (console-platform restrictions not modelled)."""
    if project.platform in SYMBOL_SOURCES["by_platform"]:
        project.update_option(SYMBOL_SOURCES["option"], list(SYMBOL_SOURCES["by_platform"][project.platform]))


def apply_default_project_settings(organization, project):
    """Records that the UI's defaults were applied; its own symbol-source call included."""
    assert isinstance(organization, Organization) and isinstance(project, Project)
    set_default_symbol_sources(project, organization)
    DB.defaults.append(project.name)


class _Transaction:
    """django.db.transaction: `atomic` undoes every row and option written inside it on an error."""

    @staticmethod
    @contextlib.contextmanager
    def atomic(using=None):
        rows = {name: list(model.objects.rows) for name, model in MODELS.items()}
        saved = (dict(DB.options), dict(DB.state), dict(DB.project_options), list(DB.signals), list(DB.defaults))
        try:
            yield
        except BaseException:
            for name, model in MODELS.items():
                model.objects.rows[:] = rows[name]
            DB.options, DB.state, DB.project_options, DB.signals, DB.defaults = saved
            raise


def install(layout: str = "application_state", project_defaults: bool = True):
    """Register stand-ins under the import names the script uses; returns a fresh database.

    `layout`: where this release keeps `sentry:version-configured` (LAYOUTS); `project_defaults`:
    whether it ships `apply_default_project_settings` and `set_default_symbol_sources`.
    """
    if layout not in LAYOUTS:
        raise ValueError(layout)
    DB.reset()
    for model in MODELS.values():
        model.objects = Manager(model)
    registered = {"system.url-prefix", *([VERSION_CONFIGURED] if layout == "options" else [])}
    modules = {
        "django": {}, "django.conf": {"settings": types.SimpleNamespace(configured=True)},
        "django.db": {"transaction": _Transaction,
                      "router": types.SimpleNamespace(db_for_write=lambda model: "default")},
        "sentry": {"options": _Options(registered), "get_version": lambda: "26.8.0",
                   "roles": types.SimpleNamespace(get_top_dog=lambda: types.SimpleNamespace(id="owner"))},
        "sentry.runner": {"configure": lambda: None},
        "sentry.constants": {"ObjectStatus": types.SimpleNamespace(**STATUS["ObjectStatus"])},
        "sentry.models": {},
        "sentry.signals": {"project_created": _Signal("project_created")},
        "sentry.users": {}, "sentry.users.models": {},
        "sentry.utils": {}, "sentry.utils.security": {},
        "sentry.utils.security.orgauthtoken_token": {"hash_token": hash_token},
        **{spec["module"]: {name: MODELS[name]} for name, spec in REFERENCE["models"].items()},
    }
    modules["sentry.models.team"]["TeamStatus"] = types.SimpleNamespace(**STATUS["TeamStatus"])
    if layout == "application_state":
        modules["sentry.application_state"] = {"get": _state_get, "set": _state_set}
    if project_defaults:
        modules["sentry.api"] = {}
        modules["sentry.api.helpers"] = {}
        modules[SYMBOL_SOURCES["module"]] = {"set_default_symbol_sources": set_default_symbol_sources}
        modules["sentry.core"] = {}
        modules["sentry.core.endpoints"] = {}
        modules[REFERENCE["project_defaults"]["settings"]["module"]] = {
            "apply_default_project_settings": apply_default_project_settings}
    uninstall()
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        module.__path__ = []
        sys.modules[name] = module
    for name in modules:  # `from sentry import application_state` reads the parent's attribute
        parent, _, child = name.rpartition(".")
        if parent in modules:
            setattr(sys.modules[parent], child, sys.modules[name])
    sys.modules["sentry"].options = modules["sentry"]["options"]
    return DB


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


def uninstall():
    for name in list(sys.modules):
        if name.split(".")[0] in ("sentry", "django") and getattr(sys.modules[name], "__file__", None) is None:
            del sys.modules[name]
