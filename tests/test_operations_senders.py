"""The watchdog's alert senders against local servers: an HTTP server standing in for Telegram's
Bot API and a webhook, and a small SMTP server (plain with AUTH, STARTTLS, TLS from the start)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.operations.watchdog import senders

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Recorder(BaseHTTPRequestHandler):
    """Records each POST (path, headers, JSON body) and answers with the server's `reply`."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, dict(self.headers), json.loads(body)))
        status, payload = self.server.reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests, server.reply = [], (200, {"ok": True})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


def test_telegram_posts_the_text_to_the_bots_send_message_method(http):
    senders.send_telegram(TOKEN, "-100123", "[errors] FAILING: web", api=http.url)
    [(path, headers, body)] = http.requests
    assert path == f"/bot{TOKEN}/sendMessage"
    assert headers["Content-Type"] == "application/json"
    assert body["chat_id"] == "-100123" and body["text"] == "[errors] FAILING: web"


def test_telegram_refusals_are_errors_that_never_show_the_token(http):
    http.reply = (401, {"ok": False, "description": "Unauthorized"})
    with pytest.raises(senders.SendError) as refused:
        senders.send_telegram(TOKEN, "1", "text", api=http.url)
    assert "401" in str(refused.value) and TOKEN.split(":")[1] not in str(refused.value)
    http.reply = (200, {"ok": False})
    with pytest.raises(senders.SendError):
        senders.send_telegram(TOKEN, "1", "text", api=http.url)


def test_an_unreachable_target_is_an_error_naming_the_target_not_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(senders.SendError) as unreachable:
        senders.send_webhook(f"http://127.0.0.1:{port}/hooks/T0SECRET/B0SECRET", "text")
    assert str(unreachable.value).startswith("webhook:") and "SECRET" not in str(unreachable.value)


def test_the_webhook_receives_slack_compatible_json(http):
    senders.send_webhook(f"{http.url}/services/T000/B000/XXXX", "[errors] RECOVERED: worker")
    [(path, _, body)] = http.requests
    assert path == "/services/T000/B000/XXXX"
    assert body == {"text": "[errors] RECOVERED: worker"}
    http.reply = (500, {})
    with pytest.raises(senders.SendError):
        senders.send_webhook(f"{http.url}/x", "text")


def test_deliver_reports_each_failing_target_and_still_sends_to_the_others(http):
    sent = []

    def broken(text):
        raise senders.SendError("telegram: HTTP 401")

    errors = senders.deliver("hello", {"telegram": broken, "webhook": sent.append})
    assert errors == ["telegram: HTTP 401"] and sent == ["hello"]


# --- email -----------------------------------------------------------------------------------

class SmtpStub(socketserver.StreamRequestHandler):
    """Just enough SMTP: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        server, wfile, rfile = self.server, self.wfile, self.rfile
        connection = self.connection
        if server.implicit_tls:
            connection = server.context.wrap_socket(connection, server_side=True)
            rfile, wfile = connection.makefile("rb"), connection.makefile("wb")

        def reply(line):
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        reply("220 stub ESMTP")
        tls = server.implicit_tls
        while True:
            line = rfile.readline().decode().rstrip("\r\n")
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            server.log.append(line if verb != "AUTH" else "AUTH")
            if verb in ("EHLO", "HELO"):
                extensions = ["AUTH PLAIN"] + ([] if tls or not server.context else ["STARTTLS"])
                reply("250-stub")
                for extension in extensions[:-1]:
                    reply(f"250-{extension}")
                reply(f"250 {extensions[-1]}")
            elif verb == "STARTTLS":
                reply("220 go ahead")
                connection = server.context.wrap_socket(connection, server_side=True)
                rfile, wfile, tls = connection.makefile("rb"), connection.makefile("wb"), True
                server.log.append("TLS")
            elif verb == "AUTH":
                server.credentials.append(base64.b64decode(line.split()[2]).split(b"\0")[1:])
                reply("235 ok")
            elif verb == "DATA":
                reply("354 go")
                lines = []
                while (data := rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(data)
                server.messages.append("".join(lines))
                reply("250 queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("250 ok")


def _smtp_server(context=None, implicit_tls=False):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpStub)
    server.daemon_threads = True
    server.log, server.credentials, server.messages = [], [], []
    server.context, server.implicit_tls = context, implicit_tls
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client_side = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return server_side, client_side


def test_email_url_is_read_as_glitchtip_reads_it():
    plain = senders.Smtp.from_url("smtp://ops%40example.com:p%40ss@mail.example.com")
    assert (plain.host, plain.port, plain.user, plain.password) == ("mail.example.com", 25, "ops@example.com", "p@ss")
    assert not plain.starttls and not plain.implicit_tls
    assert senders.Smtp.from_url("smtp+tls://u:p@mail.example.com:587").starttls
    assert senders.Smtp.from_url("smtp+ssl://u:p@mail.example.com:465").implicit_tls
    with pytest.raises(senders.SendError):
        senders.Smtp.from_url("consolemail://")


def test_email_is_sent_with_the_decoded_credentials():
    server = _smtp_server()
    port = server.server_address[1]
    smtp = senders.Smtp.from_url(f"smtp://ops%40example.com:s3cret@127.0.0.1:{port}")
    senders.send_email(smtp, "watchdog@errors.example.com", ["a@example.com", "b@example.com"],
                       "[errors] FAILING: backup", "[errors] FAILING: backup: no backup")
    server.shutdown()
    assert server.credentials == [[b"ops@example.com", b"s3cret"]]
    commands = [line.lower() for line in server.log]
    assert "mail from:<watchdog@errors.example.com>" in commands
    assert "rcpt to:<a@example.com>" in commands and "rcpt to:<b@example.com>" in commands
    assert "Subject: [errors] FAILING: backup" in server.messages[0]


def test_smtp_tls_upgrades_with_starttls_before_logging_in(certificate):
    server_side, client_side = certificate
    server = _smtp_server(server_side)
    smtp = senders.Smtp.from_url(f"smtp+tls://u:p@127.0.0.1:{server.server_address[1]}")
    senders.send_email(smtp, "w@example.com", ["a@example.com"], "s", "t", context=client_side)
    server.shutdown()
    assert server.log.index("TLS") < server.log.index("AUTH")


def test_smtp_ssl_speaks_tls_from_the_start(certificate):
    server_side, client_side = certificate
    server = _smtp_server(server_side, implicit_tls=True)
    smtp = senders.Smtp.from_url(f"smtp+ssl://u:p@127.0.0.1:{server.server_address[1]}")
    senders.send_email(smtp, "w@example.com", ["a@example.com"], "s", "t", context=client_side)
    server.shutdown()
    assert server.messages and server.credentials == [[b"u", b"p"]]


def test_an_smtp_error_is_a_send_error_without_the_password():
    server = _smtp_server()
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    smtp = senders.Smtp.from_url(f"smtp://u:hunter2@127.0.0.1:{port}")
    with pytest.raises(senders.SendError) as failed:
        senders.send_email(smtp, "w@example.com", ["a@example.com"], "s", "t")
    assert str(failed.value).startswith("email:") and "hunter2" not in str(failed.value)
