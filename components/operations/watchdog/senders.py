"""Alert targets: a Telegram bot, a Slack-compatible webhook, email through the app's SMTP.

Errors name the target and the reason but never the token, the webhook URL or the password:
those are secrets, and the message ends up in container logs. Whatever a target does (refuse,
hang, answer something that is not HTTP or SMTP), sending to it raises SendError and nothing
else: one bad target never stops the others.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Callable, Optional, Sequence
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 20
TELEGRAM_API = "https://api.telegram.org"


class SendError(Exception):
    """A target refused or could not be reached; the text is safe to log."""


def post_json(url: str, payload: dict, what: str, secrets: Sequence[str] = (),
              timeout: float = TIMEOUT_SECONDS) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "error-tracking-watchdog"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise SendError(f"{what}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendError(f"{what}: {type(reason).__name__}: {_without(str(reason), url, *secrets)}") from None
    except http.client.HTTPException as error:
        raise SendError(f"{what}: the answer is not HTTP ({type(error).__name__})") from None
    except ValueError as error:
        raise SendError(f"{what}: {type(error).__name__}: {_without(str(error), url, *secrets)}") from None


def send_telegram(token: str, chat_id: str, text: str, api: str = TELEGRAM_API,
                  timeout: float = TIMEOUT_SECONDS) -> None:
    """Bot API sendMessage; Telegram answers {"ok": true} when the message was accepted."""
    body = post_json(
        f"{api.rstrip('/')}/bot{token}/sendMessage",
        {"chat_id": chat_id, "text": text},
        "telegram",
        secrets=(token,),
        timeout=timeout,
    )
    try:
        accepted = json.loads(body).get("ok") is True
    except (ValueError, AttributeError):
        accepted = False
    if not accepted:
        raise SendError("telegram: the Bot API did not accept the message")


def send_webhook(url: str, text: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """Slack-compatible incoming webhook: a JSON object with `text` (Mattermost, Rocket.Chat,
    Discord's /slack endpoint and GlitchTip's own webhook format accept it)."""
    post_json(url, {"text": text}, "webhook", timeout=timeout)


@dataclass(frozen=True)
class Smtp:
    """GlitchTip's EMAIL_URL read the way django-environ reads it: smtp:// (plain), smtp+tls://
    (STARTTLS), smtp+ssl:// (TLS from the start); user and password URL-encoded; port 25 unless
    given (Django's EMAIL_PORT default)."""

    host: str
    port: int
    user: Optional[str]
    password: Optional[str]
    starttls: bool
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> "Smtp":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+tls", "smtp+ssl") or not parts.hostname:
            raise SendError("email: the email URL must be smtp://, smtp+tls:// or smtp+ssl:// with a host")
        try:
            port = parts.port or 25
        except ValueError:
            raise SendError("email: the email URL has an invalid port") from None
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=parts.scheme == "smtp+tls",
            implicit_tls=parts.scheme == "smtp+ssl",
        )


def send_email(
    smtp: Smtp, sender: str, recipients: Sequence[str], subject: str, text: str,
    context: Optional[ssl.SSLContext] = None, timeout: float = TIMEOUT_SECONDS,
) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    context = context or ssl.create_default_context()
    try:
        if smtp.implicit_tls:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.starttls:
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPException as error:
        raise SendError(f"email: {type(error).__name__}: {_without(str(error), smtp.password)}") from None
    except (OSError, ValueError, UnicodeError) as error:
        raise SendError(f"email: {type(error).__name__}: {_without(str(error), smtp.password)}") from None


Sender = Callable[[str], None]


def send_one(send: Sender, text: str, name: str) -> Optional[str]:
    """Sends `text` through one target; the error (safe to log), or None when it took it. An
    error no sender foresaw is reported by its type only: its text might hold a secret URL."""
    try:
        send(text)
    except SendError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a target must never stop the others
        return f"{name}: unexpected {type(error).__name__}"
    return None


def deliver(text: str, senders: dict[str, Sender]) -> list[str]:
    """Sends `text` to every target; returns the errors (empty: all accepted it)."""
    errors = []
    for name, send in senders.items():
        error = send_one(send, text, name)
        if error:
            errors.append(error)
    return errors


def _without(text: str, *secrets: Optional[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
