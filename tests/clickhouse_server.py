"""ClickHouse for the script tests: ClickHouse itself embedded by chdb (26.9; the deployed server is
25.3), behind a small HTTP front in this process, with the backup disk configured as the deployed
config.d file configures it (rendered by the same function). The scripts reach it through a
stand-in `clickhouse-client` on PATH that takes the options the scripts use, refuses a password on
the command line and sends CLICKHOUSE_PASSWORD the way the real client reads it. One embedded
server per process (chdb's rule): a module's server is closed when the module is done.
Faults: `Server.refuse` makes the server fail the statements that hold a given text."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.apps.sentry.files.clickhouse import render_clickhouse_backup_disk

chdb_session = pytest.importorskip("chdb.session", reason="chdb-core (ClickHouse embedded) is not installed")

PASSWORD = "clickhouse-test-password"
DATABASE = "snuba"  # chdb's own `default` is an Overlay database; the server's is Atomic like this one

FAKE_CLIENT = '''#!{python} -S
"""clickhouse-client, as far as the scripts use it: --host --port --format --query --param_x."""
import http.client, json, os, sys, urllib.parse
args, options = sys.argv[1:], {{}}
while args:
    arg = args.pop(0)
    key, _, value = arg[2:].partition("=")
    if not arg.startswith("--"):
        sys.exit("clickhouse-client (stand-in): unexpected argument " + arg)
    if not _:
        value = args.pop(0)
    if key in ("password", "ask-password"):
        sys.exit("clickhouse-client (stand-in): a password on the command line is visible to ps: refused")
    if key not in ("host", "port", "format", "query") and not key.startswith("param_"):
        sys.exit("clickhouse-client (stand-in): unknown option --" + key)
    options[key] = value
url = urllib.parse.urlsplit(os.environ["FAKE_CLICKHOUSE_URL"])
connection = http.client.HTTPConnection(url.hostname, url.port)
connection.request("POST", url.path, body=json.dumps(options).encode(), headers={{
    "X-ClickHouse-User": os.environ.get("CLICKHOUSE_USER", "default"),
    "X-ClickHouse-Key": os.environ.get("CLICKHOUSE_PASSWORD", "")}})
response = connection.getresponse()
body = response.read().decode()
if response.status != 200:
    sys.exit(body)
sys.stdout.write(body)
'''


class Server:
    """ClickHouse (chdb) behind HTTP; remembers the hosts and ports clients asked for."""

    def __init__(self, root: Path):
        self.backups = root / "backups"
        self.backups.mkdir()
        config = root / "config.xml"
        config.write_text(render_clickhouse_backup_disk(str(self.backups)))
        self.session = chdb_session.Session(f"{root / 'data'}?config-file={config}")
        self.seen: list[tuple[str, str]] = []
        self.refuse: tuple[str, ...] = ()  # statements holding one of these the server fails, as faults
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                options = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.seen.append((options.get("host"), options.get("port")))
                if self.headers.get("X-ClickHouse-Key") != PASSWORD:
                    return self._answer(500, "Code: 516. DB::Exception: default: Authentication failed")
                params = {k[len("param_"):]: v for k, v in options.items() if k.startswith("param_")}
                if any(text in options["query"] for text in server.refuse):
                    return self._answer(500, "Code: 1000. DB::Exception: refused by the test (a fault)")
                try:
                    result = server.session.query(options["query"], options.get("format", "TSV"), params=params)
                except Exception as error:  # noqa: BLE001 - the client prints what the server said
                    return self._answer(500, str(error))
                self._answer(200, str(result))

            def _answer(self, status, text):
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"

    def sql(self, query: str) -> str:
        return str(self.session.query(query, "TSV")).strip()

    def seed(self):
        self.sql(f"DROP DATABASE IF EXISTS {DATABASE} SYNC")
        self.sql(f"CREATE DATABASE {DATABASE} ENGINE = Atomic")
        self.sql(f"CREATE TABLE {DATABASE}.errors_local (project_id UInt64, event_id UUID, deleted UInt8) "
                 "ENGINE = ReplacingMergeTree ORDER BY (project_id, event_id)")
        self.sql(f"CREATE TABLE {DATABASE}.migrations_local (group String, migration_id String) "
                 "ENGINE = MergeTree ORDER BY (group, migration_id)")
        self.sql(f"CREATE TABLE {DATABASE}.outcomes_raw_local (org_id UInt64) ENGINE = MergeTree ORDER BY org_id")
        self.sql(f"CREATE TABLE {DATABASE}.outcomes_hourly_local (org_id UInt64, n UInt64) "
                 "ENGINE = SummingMergeTree ORDER BY org_id")
        self.sql(f"CREATE MATERIALIZED VIEW {DATABASE}.outcomes_mv TO {DATABASE}.outcomes_hourly_local "
                 f"AS SELECT org_id, 1 AS n FROM {DATABASE}.outcomes_raw_local")
        self.sql(f"INSERT INTO {DATABASE}.errors_local SELECT number % 3, generateUUIDv4(), 0 FROM numbers(5000)")
        self.sql(f"INSERT INTO {DATABASE}.migrations_local VALUES ('system', '0001_migrations'), "
                 "('events', '0001_events_initial')")
        for leftover in self.sql("SELECT name FROM system.databases WHERE name LIKE 'drill%' "
                                 f"OR name LIKE '{DATABASE}_%'").split():
            self.sql(f"DROP DATABASE IF EXISTS {leftover} SYNC")
        for path in self.backups.iterdir():
            path.unlink()


def started(root: Path) -> Server:
    return Server(root)


def stopped(server: Server, root: Path) -> None:
    server.http.shutdown()
    server.session.close()
    shutil.rmtree(root, ignore_errors=True)


def client_env(server: Server, bin_dir: Path) -> dict[str, str]:
    """The scripts' environment, as the deployed tasks set it, with the stand-in client on PATH."""
    bin_dir.mkdir(exist_ok=True)
    client = bin_dir / "clickhouse-client"
    client.write_text(FAKE_CLIENT.format(python=sys.executable))
    client.chmod(0o755)
    return {
        **os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_CLICKHOUSE_URL": server.url,
        "CLICKHOUSE_HOST": "clickhouse", "CLICKHOUSE_PORT": "9000", "CLICKHOUSE_DATABASE": DATABASE,
        "CLICKHOUSE_PASSWORD": PASSWORD, "BACKUP_DIR": str(server.backups), "CLICKHOUSE_POLL_SECONDS": "0.1",
        "PAIR_POSTGRES": "postgres", "SET_NAME": "sentry", "APP_VERSION": "26.8.0",
        "PAIR_GRACE_SECONDS": "1", "PAIR_WAIT_MINUTES": "1",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One embedded server for a test module (chdb allows one per process), closed when the module is done."""
    root = tmp_path_factory.mktemp("clickhouse")
    server = started(root)
    yield server
    stopped(server, root)


@pytest.fixture
def ch(server, tmp_path):
    """The module's server seeded afresh, refusing nothing, with the stand-in client on PATH for this test."""
    server.seed()
    server.seen.clear()
    server.refuse = ()
    server.env = client_env(server, tmp_path / "bin")
    return server
