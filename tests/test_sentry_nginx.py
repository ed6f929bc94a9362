"""Sentry's edge: nginx's routing, its own non-root user, and on Docker a web or Relay that is
replaced without nginx being restarted.

The real nginx of this machine runs the rendered configuration on loopback: stand-ins for web and
Relay answer on addresses of 127/8, and a small DNS server stands in for Docker's embedded one,
so that "web was replaced" is what it is on a Docker network: the name now resolves elsewhere.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from components.apps.sentry import app as sentry_app
from components.apps.sentry.files import FilesContext, Hosts
from components.apps.sentry.files.nginx import DOCKER_DNS, EDGE_PORT, RESOLVE_VALID_SECONDS, render_nginx_conf
from components.apps.sentry.images import IMAGES
from components.configuration import load
from tests.harness import BASE_CONFIG, deploy

NGINX = shutil.which("nginx")
needs_nginx = pytest.mark.skipif(not NGINX, reason="nginx is not installed (apt-get install nginx-light)")


def context(**overrides):
    defaults = dict(url="https://sentry.example.com", admin_email="ops@example.com", relay_public_key="k", relay_id="i")
    return FilesContext(**{**defaults, **overrides})


def locations(conf):
    return dict(re.findall(r"location\s+([^{]+?)\s*\{\s*(?:[^{}]*?proxy_pass\s+(http://[^;]+);)?", conf))


# What is rendered -------------------------------------------------------------------------------

def test_nginx_sends_ingest_to_relay_and_the_rest_to_web_through_upstream_blocks_without_a_resolver():
    conf = render_nginx_conf(context())
    routes = locations(conf)
    assert routes["/api/store/"] == routes[r"~ ^/api/[1-9]\d*/"] == routes["^~ /api/0/relays/"] == "http://relay"
    assert routes["/"] == "http://sentry"
    assert "server relay:3000;" in conf and "server web:9000;" in conf
    assert "resolver" not in conf
    assert "client_max_body_size 100m;" in conf and "proxy_read_timeout 90s;" in conf
    assert conf.count("{") == conf.count("}")


def test_with_a_resolver_every_peer_is_named_through_a_variable_and_asked_again_after_ten_seconds():
    conf = render_nginx_conf(context(), resolver=DOCKER_DNS)
    routes = locations(conf)
    assert routes["/api/store/"] == routes[r"~ ^/api/[1-9]\d*/"] == routes["^~ /api/0/relays/"] == "http://$relay_peer"
    assert routes["/"] == routes["/_assets/"] == routes["/_static/"] == "http://$web_peer"
    assert "set $relay_peer relay:3000;" in conf and "set $web_peer web:9000;" in conf
    # An upstream block (or a literal name in proxy_pass) would be resolved once, at start.
    assert not re.search(r"^\s*upstream\s", conf, re.M) and not re.search(r"proxy_pass http://[a-z]", conf)
    assert f"resolver 127.0.0.11 valid={RESOLVE_VALID_SECONDS}s ipv6=off;" in conf and RESOLVE_VALID_SECONDS == 10
    assert conf.count("{") == conf.count("}")


@pytest.mark.parametrize("resolver", [None, DOCKER_DNS])
def test_nginx_runs_as_its_own_user_on_an_unprivileged_port_and_forwards_https(resolver):
    conf = render_nginx_conf(context(trusted_proxies=("10.1.0.0/16",)), resolver=resolver)
    assert not re.search(r"^\s*user\s", conf, re.M)  # a non-root master cannot switch users
    assert re.findall(r"listen (\S+);", conf) == [str(EDGE_PORT)] and EDGE_PORT > 1024
    assert "pid /tmp/nginx.pid;" in conf
    assert set(re.findall(r"_temp_path (\S+);", conf)) == {
        f"/var/cache/nginx/{d}" for d in ("client_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp")}
    assert "proxy_set_header X-Forwarded-Proto https;" in conf
    assert re.findall(r"set_real_ip_from (\S+);", conf) == ["10.1.0.0/16"] and "real_ip_recursive on;" in conf
    plain = render_nginx_conf(context(url="http://127.0.0.1:9000"), resolver=resolver)
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in plain


# What each platform runs ------------------------------------------------------------------------

def test_docker_mounts_the_resolving_nginx_conf_and_kubernetes_the_one_that_reaches_services():
    spec = sentry_app.describe_without_secrets(load({**BASE_CONFIG, "app": "sentry"}))
    docker, kubernetes = spec.for_platform("docker"), spec.for_platform("kubernetes")
    mounted = {p: {f.path: f.file for f in s.service("nginx").files} for p, s in (("docker", docker),
                                                                                  ("kubernetes", kubernetes))}
    assert mounted == {"docker": {"/etc/nginx/nginx.conf": "nginx-conf-docker"},
                       "kubernetes": {"/etc/nginx/nginx.conf": "nginx-conf"}}
    assert "nginx-conf" not in {f.name for f in docker.files}
    assert "nginx-conf-docker" not in {f.name for f in kubernetes.files}
    for one in (docker, kubernetes):
        assert [s.name for s in one.services].count("nginx") == 1
        assert one.entrypoint.port == EDGE_PORT == one.service("nginx").ports[0].number


def test_nginx_is_the_unprivileged_image_of_upstreams_release_with_no_root_and_no_capability():
    assert IMAGES["nginx"].reference == "nginxinc/nginx-unprivileged:1.31.3-alpine"  # upstream: nginx:1.31.3-alpine
    spec = sentry_app.describe_without_secrets(load({**BASE_CONFIG, "app": "sentry"}))
    for platform in ("docker", "kubernetes"):
        nginx = spec.for_platform(platform).service("nginx")
        assert (nginx.root, nginx.capabilities, nginx.run_as_user, nginx.run_as_group) == (False, (), 101, 101)
        assert nginx.health.probe.command == ("/usr/bin/curl", f"http://localhost:{EDGE_PORT}")
    cache = spec.for_platform("docker").volume("sentry-nginx-cache")
    assert cache.owner == 101 and not cache.shared  # a cache made while nginx ran as root is handed over


def test_docker_publishes_the_host_port_to_nginxs_port_and_hands_it_its_cache():
    deployment = deploy({"app": "sentry"})
    containers = deployment.containers()
    nginx = containers["sentry-nginx"]
    assert nginx.inputs["ports"] == [{"internal": EDGE_PORT, "external": 8000, "ip": "127.0.0.1", "protocol": "tcp"}]
    assert nginx.inputs["image"].startswith("sha256:")
    owner = containers["sentry-volume-owner-sentry-nginx-cache"]
    assert owner.inputs["command"] == ["chown", "101:101", "/volume"]
    assert owner.urn in nginx.dependencies
    conf = next(u["content"] for u in nginx.inputs["uploads"] if u["file"] == "/etc/nginx/nginx.conf")
    assert "resolver 127.0.0.11 " in conf and all(u["owner"] == "101" for u in nginx.inputs["uploads"])


# The real nginx ---------------------------------------------------------------------------------

class Names(socketserver.ThreadingUDPServer):
    """A DNS server for A queries, answering from `addresses` (a name not there: NXDOMAIN) with
    Docker's TTL of 600 s; it counts the questions it was asked."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Answer)
        self.addresses: dict[str, str] = {}
        self.asked: list[str] = []


class _Answer(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        ident, _, count = struct.unpack("!HHH", data[:6])
        labels, offset = [], 12
        while data[offset]:
            labels.append(data[offset + 1:offset + 1 + data[offset]].decode())
            offset += 1 + data[offset]
        qtype = struct.unpack("!H", data[offset + 1:offset + 3])[0]
        question = data[12:offset + 5]
        name = ".".join(labels)
        self.server.asked.append(name)
        address = self.server.addresses.get(name)
        if address is None:
            sock.sendto(struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question, self.client_address)
            return
        answers = b""
        if qtype == 1:
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 600, 4) + socket.inet_aton(address)
        sock.sendto(struct.pack("!HHHHHH", ident, 0x8180, 1, 1 if answers else 0, 0, 0) + question + answers,
                    self.client_address)


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (f"{self.server.label} {self.path} {self.headers.get('X-Forwarded-Proto')} "
                f"{self.headers.get('X-Forwarded-For')}").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@dataclass
class Edge:
    """nginx on loopback with the rendered configuration, and the stand-ins it reaches."""

    tmp_path: object
    port: int = 0
    backends: list = field(default_factory=list)
    command: list = field(default_factory=list)

    def backend(self, label: str, address: str, port: int) -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer((address, port), _Echo)
        server.label = label
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.backends.append(server)
        return server

    def start(self, conf: str) -> int:
        """Run `conf` with its paths moved under tmp_path and nginx listening on a free port; the
        master's pid, which must stay the same (no restart, no reload)."""
        self.port = _free_port("127.0.0.1")
        cache = self.tmp_path / "cache"
        cache.mkdir()
        conf = (conf.replace(f"listen {EDGE_PORT};", f"listen 127.0.0.1:{self.port};")
                .replace("/tmp/nginx.pid", str(self.tmp_path / "nginx.pid"))
                .replace("/var/cache/nginx/", f"{cache}/").replace("/var/log/nginx/", f"{self.tmp_path}/"))
        (self.tmp_path / "nginx.conf").write_text(conf)
        self.command = [NGINX, "-p", str(self.tmp_path), "-c", str(self.tmp_path / "nginx.conf"),
                        "-g", f"error_log {self.tmp_path}/e.log;"]
        subprocess.run(self.command, check=True, capture_output=True)
        return self.master()

    def master(self) -> int:
        return int((self.tmp_path / "nginx.pid").read_text())

    def get(self, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers={"X-Forwarded-For": "10.9.9.9"})
        for _ in range(50):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, ""
            except ConnectionError:
                time.sleep(0.05)
        raise AssertionError("nginx did not answer")

    def stop(self):
        if self.command:
            subprocess.run([*self.command, "-s", "stop"], capture_output=True)
        for server in self.backends:
            server.shutdown()
            server.server_close()


@pytest.fixture
def edge(tmp_path):
    running = Edge(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def names():
    server = Names()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


@needs_nginx
def test_the_kubernetes_conf_routes_real_requests(edge):
    relay = edge.backend("relay", "127.0.0.1", _free_port("127.0.0.1"))
    web = edge.backend("web", "127.0.0.1", _free_port("127.0.0.1"))
    conf = render_nginx_conf(context(hosts=Hosts(web="127.0.0.1", relay="127.0.0.1")))
    edge.start(conf.replace("127.0.0.1:3000", f"127.0.0.1:{relay.server_port}")
               .replace("127.0.0.1:9000", f"127.0.0.1:{web.server_port}"))
    _routes_like_upstream(edge)


@needs_nginx
def test_on_docker_nginx_follows_a_replaced_web_and_relay_without_a_restart_or_reload(edge, names):
    """The Docker conf against a DNS stand-in: web and Relay move to new addresses, as a replaced
    container does on a Docker network, and requests reach the new ones while nginx runs on."""
    web_port, relay_port = _free_port("127.0.0.2"), _free_port("127.0.0.4")
    edge.backend("web", "127.0.0.2", web_port)
    old_relay = edge.backend("relay", "127.0.0.4", relay_port)
    names.addresses.update(web="127.0.0.2", relay="127.0.0.4")
    conf = render_nginx_conf(context(), resolver=DOCKER_DNS)
    master = edge.start(conf.replace(f"resolver {DOCKER_DNS} valid={RESOLVE_VALID_SECONDS}s",
                                     f"resolver 127.0.0.1:{names.server_address[1]} valid=1s")
                        .replace("web:9000", f"web:{web_port}").replace("relay:3000", f"relay:{relay_port}"))
    _routes_like_upstream(edge)
    assert {"web", "relay"} <= set(names.asked)

    # web is replaced: the old container goes, the new one answers at another address.
    old_web = edge.backends[0]
    old_web.shutdown()
    old_web.server_close()
    edge.backend("web-new", "127.0.0.3", web_port)
    names.addresses["web"] = "127.0.0.3"
    assert _eventually(lambda: edge.get("/api/0/projects/")[1].startswith("web-new "))
    # Relay too.
    old_relay.shutdown()
    old_relay.server_close()
    edge.backend("relay-new", "127.0.0.5", relay_port)
    names.addresses["relay"] = "127.0.0.5"
    assert _eventually(lambda: edge.get("/api/42/envelope/")[1].startswith("relay-new "))
    assert edge.get("/_assets/app.js") == (200, "web-new /_static/dist/sentry/app.js https 127.0.0.1")
    assert edge.master() == master and _alive(master)  # the same nginx, never restarted


@needs_nginx
def test_on_docker_a_peer_that_is_gone_answers_502_and_nginx_still_starts_without_it(edge, names):
    """nginx no longer needs web to resolve at start: it asks when a request comes."""
    web_port = _free_port("127.0.0.2")
    conf = render_nginx_conf(context(), resolver=DOCKER_DNS)
    edge.start(conf.replace(f"resolver {DOCKER_DNS} valid={RESOLVE_VALID_SECONDS}s",
                            f"resolver 127.0.0.1:{names.server_address[1]} valid=1s")
               .replace("web:9000", f"web:{web_port}"))
    assert edge.get("/")[0] == 502  # not resolvable yet: Bad Gateway, not a dead edge
    edge.backend("web", "127.0.0.2", web_port)
    names.addresses["web"] = "127.0.0.2"
    assert _eventually(lambda: edge.get("/")[1].startswith("web /"))


def _routes_like_upstream(edge: Edge) -> None:
    assert edge.get("/api/store/")[1].startswith("relay")
    assert edge.get("/api/42/envelope/")[1].startswith("relay")
    assert edge.get("/api/0/relays/register/challenge/")[1].startswith("relay")
    assert edge.get("/api/0/projects/")[1].startswith("web")
    assert edge.get("/api/01/x")[1].startswith("web")
    assert edge.get("/_assets/app.js")[1].startswith("web /_static/dist/sentry/app.js ")
    # https public URL: TLS ended in front; a client's own X-Forwarded-For is not believed.
    assert edge.get("/")[1] == "web / https 127.0.0.1"


def _eventually(check, seconds: float = 8.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True

