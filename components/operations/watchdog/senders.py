"""Alert targets: a Telegram bot, a Slack-compatible webhook, email through the app's SMTP.

Errors name the target and the reason but never the token, the webhook URL or the password:
those are secrets, and the message ends up in container logs.
"""

from __future__ import annotations

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


def post_json(url: str, payload: dict, what: str, secrets: Sequence[str] = ()) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "error-tracking-watchdog"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise SendError(f"{what}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendError(f"{what}: {type(reason).__name__}: {_without(str(reason), url, *secrets)}") from None


def send_telegram(token: str, chat_id: str, text: str, api: str = TELEGRAM_API) -> None:
    """Bot API sendMessage; Telegram answers {"ok": true} when the message was accepted."""
    body = post_json(
        f"{api.rstrip('/')}/bot{token}/sendMessage",
        {"chat_id": chat_id, "text": text},
        "telegram",
        secrets=(token,),
    )
    try:
        accepted = json.loads(body).get("ok") is True
    except (ValueError, AttributeError):
        accepted = False
    if not accepted:
        raise SendError("telegram: the Bot API did not accept the message")


def send_webhook(url: str, text: str) -> None:
    """Slack-compatible incoming webhook: a JSON object with `text` (Mattermost, Rocket.Chat,
    Discord's /slack endpoint and GlitchTip's own webhook format accept it)."""
    post_json(url, {"text": text}, "webhook")


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
    context: Optional[ssl.SSLContext] = None,
) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    context = context or ssl.create_default_context()
    try:
        if smtp.implicit_tls:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
        with client:
            if smtp.starttls:
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPException as error:
        raise SendError(f"email: {type(error).__name__}: {_without(str(error), smtp.password)}") from None
    except OSError as error:
        raise SendError(f"email: {type(error).__name__}: {error}") from None


Sender = Callable[[str], None]


def deliver(text: str, senders: dict[str, Sender]) -> list[str]:
    """Sends `text` to every target; returns the errors (empty: all accepted it)."""
    errors = []
    for send in senders.values():
        try:
            send(text)
        except SendError as error:
            errors.append(str(error))
    return errors


def _without(text: str, *secrets: Optional[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
