#!/usr/bin/env python3
"""Run GlitchTip's bootstrap script against a real GlitchTip backend and a throwaway PostgreSQL.

Not run by CI: it needs a GlitchTip backend source tree (a checkout, or `git archive HEAD | tar -x`
of one), PostgreSQL server binaries and PyPI. Stdlib only; one command repeats the whole run:

    python3 scripts/run_bootstrap_against_backend.py /path/to/glitchtip-backend \\
        [--python python3.13] [--pg-bin /usr/lib/postgresql/15/bin] [--keep]

It installs the backend's locked dependencies (uv.lock, no dev group), starts PostgreSQL (as `nobody`
when run as root), runs `bin/run-migrate.sh`, runs components/apps/glitchtip/bootstrap_script.py as
the bootstrap task does (`./manage.py shell -c "<script>"`, BOOTSTRAP_* in the environment) through
the timed steps listed in `steps()`, then starts GlitchTip's own web and worker scripts to prove the
CI token and ingest with sentry-sdk. Everything listens on 127.0.0.1; nothing secret is printed (DSN
keys masked); the work dir is removed at the end unless --keep or a step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "components/apps/glitchtip/bootstrap_script.py"
REPORT_PREFIX = "ERROR_TRACKING_REPORT="
VERIFY_PREFIX = "VERIFY="
CI_SCOPES = {"project:releases", "project:read", "org:read"}
PROJECTS = [{"name": "api", "platform": "python"}, {"name": "new", "platform": "python"},
            {"name": "web", "platform": "javascript"}]

# Read back what the bootstrap left, through GlitchTip's own models (works on 5.x and 6.x).
VERIFY = """
import json, os
from apps.api_tokens.models import APIToken
from apps.projects.models import Project
from apps.users.models import User
user = User.objects.get(email=os.environ["BOOTSTRAP_ADMIN_EMAIL"])
holders = APIToken.objects.filter(token=os.environ["BOOTSTRAP_API_TOKEN"])
print("VERIFY=" + json.dumps({
    "superuser": user.is_superuser and user.is_staff,
    "roles": {m.organization.slug: m.role for m in user.organizations_ext_organizationuser.all()},
    "token_holders": [{"user": t.user.email, "label": t.label, "scopes": t.get_scopes()} for t in holders],
    "labelled": APIToken.objects.filter(user=user, label=os.environ["BOOTSTRAP_API_TOKEN_LABEL"]).count(),
    "projects": [{"id": p.id, "name": p.name, "slug": p.slug, "deleted": p.is_deleted,
                  "organization": p.organization.slug} for p in Project.objects.order_by("id")],
}))
"""
# Changes made between runs, through the ORM. .update() marks rows as delete() does without queueing
# the purge task: the window in which a soft-deleted row still holds its slug.
DEMOTE = """
import os
from apps.organizations_ext.constants import OrganizationUserRole
from apps.organizations_ext.models import OrganizationUser
from apps.users.models import User
email = os.environ["BOOTSTRAP_ADMIN_EMAIL"]
OrganizationUser.objects.filter(user__email=email).update(role=OrganizationUserRole.MEMBER)
User.objects.filter(email=email).update(is_superuser=False, is_staff=False)
"""
ADD_MEMBER = """
import os, secrets
from apps.organizations_ext.constants import OrganizationUserRole
from apps.organizations_ext.models import Organization
from apps.users.models import User
user = User.objects.create_user(email=os.environ["NEW_MEMBER"], password=secrets.token_urlsafe())
Organization.objects.get(slug=os.environ["ORGANIZATION_SLUG"]).add_user(user, role=OrganizationUserRole.MEMBER)
"""
SOFT_DELETE_PROJECT = """
import os
from apps.projects.models import Project
Project.objects.filter(organization__slug=os.environ["ORGANIZATION_SLUG"], name="api").update(is_deleted=True)
"""
SOFT_DELETE_ORGANIZATION = """
import os
from apps.organizations_ext.models import Organization
Organization.objects.filter(slug=os.environ["ORGANIZATION_SLUG"]).update(is_deleted=True)
"""
SEND_EVENT = """
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1])
print(sentry_sdk.capture_message("error-tracking bootstrap real-run probe"))
sentry_sdk.flush(10)
"""


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def masked(dsn):
    scheme, _, rest = dsn.partition("://")
    key, _, where = rest.partition("@")
    return f"{scheme}://{key[:4]}…@{where}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise Failed(f"{' '.join(map(str, cmd))[:120]} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


def last_line(output, prefix):
    lines = [line[len(prefix):] for line in output.splitlines() if line.startswith(prefix)]
    check(lines, f"no {prefix} line in the output")
    return json.loads(lines[-1])


class Backend:
    def __init__(self, args):
        self.src = Path(args.source).resolve()
        self.work = Path(args.work or tempfile.mkdtemp(prefix="glitchtip-run-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)  # the postgres user must reach its data dir
        self.venv = Path(args.venv) if args.venv else self.work / "venv"
        self.sdk_venv = Path(args.sdk_venv) if args.sdk_venv else self.work / "sdk-venv"
        self.python, self.pg_bin = args.python, Path(args.pg_bin)
        self.run_as = ["runuser", "-u", args.pg_user, "--"] if os.geteuid() == 0 else []
        self.pg_port, self.web_port = free_port(), free_port()
        self.servers: list[subprocess.Popen] = []
        self.token = secrets.token_hex(32)
        self.env = {
            **os.environ,
            "PATH": f"{self.venv / 'bin'}:{os.environ['PATH']}",
            "DATABASE_URL": f"postgres://glitchtip@127.0.0.1:{self.pg_port}/glitchtip",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "VALKEY_URL": "",  # Postgres-only, as the program deploys without Valkey
            "GLITCHTIP_DOMAIN": f"http://127.0.0.1:{self.web_port}",
            "EMAIL_URL": "consolemail://",
            "BOOTSTRAP_ADMIN_EMAIL": "ops@example.com",
            "BOOTSTRAP_ADMIN_PASSWORD": secrets.token_urlsafe(24),
            "BOOTSTRAP_ORGANIZATION": "Acme",
            "BOOTSTRAP_TEAM": "acme",
            "BOOTSTRAP_PROJECTS": json.dumps(PROJECTS, sort_keys=True),
            "BOOTSTRAP_API_TOKEN": self.token,
            "BOOTSTRAP_API_TOKEN_LABEL": "error-tracking ci",
        }

    # --- setup -----------------------------------------------------------------------------
    def install(self):
        if not (self.venv / "bin/python").exists():
            run([self.python, "-m", "venv", self.venv])
            run([self.venv / "bin/pip", "install", "-q", "uv"])
            requirements = self.work / "requirements.txt"
            run([self.venv / "bin/uv", "export", "--frozen", "--no-dev", "--no-emit-project",
                 "--format", "requirements-txt", "-o", requirements], cwd=self.src)
            run([self.venv / "bin/uv", "pip", "install", "--python", self.venv / "bin/python", "-r", requirements])
        if not (self.sdk_venv / "bin/python").exists():
            run([self.python, "-m", "venv", self.sdk_venv])
            run([self.sdk_venv / "bin/pip", "install", "-q", "sentry-sdk>=2,<3"])

    def start_postgres(self):
        data, sockets = self.work / "pg/data", self.work / "pg/sockets"
        sockets.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.work / "pg", self.run_as[2])
            shutil.chown(sockets, self.run_as[2])
        run([*self.run_as, self.pg_bin / "initdb", "-D", data, "-U", "glitchtip", "--auth=trust", "-E", "UTF8"])
        run([*self.run_as, self.pg_bin / "pg_ctl", "-D", data, "-l", self.work / "pg/server.log", "-w", "start",
             "-o", f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {sockets}"])
        self.sql("create database glitchtip", database="postgres")

    def stop_postgres(self):
        if (self.work / "pg/data/postmaster.pid").exists():
            subprocess.run([*self.run_as, self.pg_bin / "pg_ctl", "-D", self.work / "pg/data", "-m", "fast", "stop"],
                           capture_output=True)

    def sql(self, query, database="glitchtip"):
        return run([self.pg_bin / "psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "glitchtip",
                    "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", query]).strip()

    def rows_written(self):
        return int(self.sql("select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) from pg_stat_user_tables"))

    # --- GlitchTip -------------------------------------------------------------------------
    def manage(self, *args, **extra_env):
        return run(["./manage.py", *args], cwd=self.src, env={**self.env, **extra_env})

    def shell(self, code, **extra_env):
        return self.manage("shell", "-c", code, **extra_env)

    def bootstrap(self):
        return last_line(self.shell(SCRIPT.read_text()), REPORT_PREFIX)

    def verify(self, report):
        """The report matches the saved rows; the admin is superuser and owner; one CI token."""
        state = last_line(self.shell(VERIFY), VERIFY_PREFIX)
        organization = report["organization"]
        live = {p["name"]: p for p in state["projects"] if p["organization"] == organization and not p["deleted"]}
        for name, reported in report["projects"].items():
            check(name in live, f"project {name}: no live row")
            check((reported["id"], reported["slug"]) == (live[name]["id"], live[name]["slug"]),
                  f"project {name}: report {reported['id']}/{reported['slug']} != saved row")
        check(state["superuser"], "admin is not superuser/staff")
        check(state["roles"].get(organization) == 3, f"admin role in {organization}: {state['roles']}")
        holders = state["token_holders"]
        check(len(holders) == 1 and holders[0]["user"] == self.env["BOOTSTRAP_ADMIN_EMAIL"]
              and holders[0]["label"] == self.env["BOOTSTRAP_API_TOKEN_LABEL"], f"token holders: {holders}")
        check(CI_SCOPES <= set(holders[0]["scopes"]), f"token scopes: {holders[0]['scopes']}")
        check(state["labelled"] == 1, f"{state['labelled']} tokens with the label")
        return state

    def start_servers(self):
        logs = self.work / "logs"
        logs.mkdir(exist_ok=True)
        env = {**self.env, "USE_GRANIAN": "true", "USE_ASYNC_SERVER": "true", "GRANIAN_HOST": "127.0.0.1",
               "GRANIAN_PORT": str(self.web_port), "PORT": str(self.web_port)}
        worker = "bin/run-worker.sh" if (self.src / "bin/run-worker.sh").exists() else "bin/run-celery-with-beat.sh"
        for name, command in (("web", "bin/run-web.sh"), ("worker", worker)):
            log = open(logs / f"{name}.log", "w")
            self.servers.append(subprocess.Popen([command], cwd=self.src, env=env, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.http("/_health/")[0] == 200:
                    return worker
            time.sleep(0.5)
        raise Failed(f"web did not answer /_health/ within 90 s (see {logs})")

    def stop_servers(self):
        for process in self.servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.servers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def rss_mib(self, process):
        """Resident memory of a server's whole process group, in MiB."""
        total = 0
        for status in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = status.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == process.pid:  # field 5 of stat: process group
                    total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        return round(total / 2**20)

    def http(self, path, token=None, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}",
                                         data=json.dumps(body).encode() if body else None)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if body:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def steps(backend):
    """(name, function returning a one-line outcome), in order; each builds on the ones before.

    First run creates everything; a rerun writes no row (pg_stat_user_tables) and reports the same;
    a soft-deleted project is recreated under a slug GlitchTip picks; a demoted admin is owner again;
    a new admin email takes the token over; a soft-deleted organization is replaced (6.x only); the
    token answers 200 (a wrong one 401) and creates a release; an event sent to a DSN is stored.
    """
    state = {}

    def migrate():
        run(["bin/run-migrate.sh"], cwd=backend.src, env=backend.env)
        return "bin/run-migrate.sh (migrate, createcachetable, partitions)"

    def first_run():
        state["report"] = backend.bootstrap()
        backend.verify(state["report"])
        slugs = {n: p["slug"] for n, p in state["report"]["projects"].items()}
        check(slugs["new"] != "new", "a project named new kept a reserved slug")
        return f"organization {state['report']['organization']}, slugs {slugs}, " + ", ".join(
            masked(p["dsn"]) for p in state["report"]["projects"].values())

    def rerun():
        before = backend.rows_written()
        again = backend.bootstrap()
        written = backend.rows_written() - before
        check(written == 0, f"the rerun wrote {written} rows")
        check(again == state["report"], "the rerun reported something else")
        return "0 rows inserted/updated/deleted; identical report"

    def soft_deleted_project():
        backend.shell(SOFT_DELETE_PROJECT, ORGANIZATION_SLUG=state["report"]["organization"])
        old, state["report"] = state["report"]["projects"]["api"], backend.bootstrap()
        new = state["report"]["projects"]["api"]
        backend.verify(state["report"])
        check(new["id"] != old["id"] and new["dsn"] != old["dsn"] and new["slug"] != old["slug"], "api not recreated")
        before = backend.rows_written()
        check(backend.bootstrap() == state["report"] and backend.rows_written() == before, "not stable afterwards")
        return f"api recreated: id {old['id']}->{new['id']}, slug {old['slug']}->{new['slug']}, new DSN; rerun writes 0"

    def demoted_admin():
        backend.shell(DEMOTE)
        state["report"] = backend.bootstrap()
        backend.verify(state["report"])
        return "admin demoted to member/non-superuser -> owner and superuser again"

    def new_admin_email():
        backend.shell(ADD_MEMBER, NEW_MEMBER="lead@example.com", ORGANIZATION_SLUG=state["report"]["organization"])
        backend.env["BOOTSTRAP_ADMIN_EMAIL"] = "lead@example.com"
        check(backend.bootstrap() == state["report"], "the report changed with the admin")
        backend.verify(state["report"])
        return "existing member lead@ -> owner and superuser; the token moved to lead@ (one holder)"

    def soft_deleted_organization():
        if not backend.sql("select count(*) from information_schema.columns where "
                           "table_name = 'organizations_ext_organization' and column_name = 'is_deleted'") == "1":
            return "SKIPPED: this release's organizations have no is_deleted (added in 6.x)"
        old = state["report"]
        backend.shell(SOFT_DELETE_ORGANIZATION, ORGANIZATION_SLUG=old["organization"])
        state["report"] = backend.bootstrap()
        backend.verify(state["report"])
        check(state["report"]["organization"] != old["organization"], "organization not replaced")
        return f"organization {old['organization']} -> {state['report']['organization']}, new DSNs"

    def servers():
        state["worker"] = backend.start_servers()
        return f"web bin/run-web.sh (granian) and worker {state['worker']} on 127.0.0.1:{backend.web_port}"

    def token_auth():
        status, body = backend.http("/api/0/organizations/", backend.token)
        check(status == 200 and state["report"]["organization"] in body, f"GET organizations: {status}")
        wrong, _ = backend.http("/api/0/organizations/", secrets.token_hex(32))
        check(wrong == 401, f"a wrong token got {wrong}")
        organization, project = state["report"]["organization"], state["report"]["projects"]["web"]["slug"]
        created, _ = backend.http(f"/api/0/organizations/{organization}/releases/", backend.token,
                                  {"version": "ci-probe-1", "projects": [project]})
        check(created in (200, 201, 208), f"creating a release answered {created}")
        return f"Bearer token: GET /api/0/organizations/ 200, wrong token 401, POST release {created}"

    def event():
        dsn = state["report"]["projects"]["api"]["dsn"]
        started = time.monotonic()
        event_id = run([backend.sdk_venv / "bin/python", "-c", SEND_EVENT, dsn]).strip().splitlines()[-1]
        while time.monotonic() - started < 60:
            if backend.sql(f"select count(*) from issue_events_issueevent where id = '{event_id}'") == "1":
                web, worker = (backend.rss_mib(p) for p in backend.servers)
                return (f"event stored {time.monotonic() - started:.1f} s after sending to {masked(dsn)}; "
                        f"RSS web {web} MiB, worker {worker} MiB")
            time.sleep(0.5)
        raise Failed("the event was not stored within 60 s")

    return [("install dependencies", backend.install), ("start postgres", backend.start_postgres),
            ("migrate", migrate), ("first run", first_run), ("rerun", rerun), ("soft-deleted project", soft_deleted_project),
            ("demoted admin", demoted_admin), ("new admin email", new_admin_email),
            ("soft-deleted organization", soft_deleted_organization), ("servers", servers),
            ("token", token_auth), ("event", event)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="GlitchTip backend source tree (has manage.py and uv.lock)")
    parser.add_argument("--python", default=sys.executable, help="Python for the backend's venv (3.13 for 5.x)")
    parser.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin", help="PostgreSQL server binaries")
    parser.add_argument("--pg-user", default="nobody", help="non-root user for PostgreSQL when run as root")
    parser.add_argument("--work", help="work dir (default: a new temporary dir)")
    parser.add_argument("--venv", help="reuse a venv that already holds the backend's dependencies")
    parser.add_argument("--sdk-venv", help="reuse a venv that already holds sentry-sdk")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (database, logs)")
    args = parser.parse_args()
    if not (Path(args.source, "manage.py").exists() and Path(args.source, "uv.lock").exists()):
        sys.exit(f"{args.source}: not a GlitchTip backend source tree (manage.py and uv.lock expected)")
    backend = Backend(args)
    print(f"GlitchTip source {backend.src}, work dir {backend.work}")
    failed = True  # until every step has passed; an unexpected exception keeps the work dir too
    try:
        for name, step in steps(backend):
            started = time.monotonic()
            try:
                outcome = step()
            except Failed as error:
                print(f"FAIL  {name} ({time.monotonic() - started:.1f} s): {error}")
                break
            print(f"ok    {name} ({time.monotonic() - started:.1f} s)" + (f": {outcome}" if outcome else ""))
        else:
            failed = False
    finally:
        backend.stop_servers()
        backend.stop_postgres()
        if failed or args.keep:
            print(f"work dir kept: {backend.work} (logs/, pg/server.log)")
        else:
            shutil.rmtree(backend.work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
