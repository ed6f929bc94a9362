"""Reading structured configuration strictly: every error names the setting and what is allowed.

A `Section` wraps one configuration object at a dotted path (`error-tracking:docker`). Each
getter checks one key; `finish()` refuses the keys nobody asked for, so a typo is never silently
ignored. Errors are collected, not raised one by one, so an operator sees all of them at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import urlsplit

PROJECT = "error-tracking"

_MISSING = object()


class ConfigError(Exception):
    """Raised with every configuration problem found, before any resource is declared."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


class Problems:
    """Collects problems; `raise_if_any` stops the program with all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, setting: str, message: str) -> None:
        self.items.append(f"{setting}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


def describe(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f'"{value}"'


class Section:
    """One configuration object; `path` is how the operator names it (`error-tracking:docker`).

    `secret` is true when the operator set any value below this top-level key with
    `pulumi config set --secret`: Pulumi tells a program only that much, so every free-form value
    read from such a section must stay secret wherever it lands (`is_secret`).
    """

    def __init__(self, data: Any, path: str, problems: Problems, secret: bool = False,
                 secret_keys: frozenset[str] = frozenset()):
        self.path = path
        self.problems = problems
        self.secret = secret
        # At the top level: which keys hold a secret somewhere below them.
        self.secret_keys = secret_keys
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.add(path, f"must be an object (key: value), got {describe(data)}")
            data = {}
        self.data = data
        # Keys a getter read, and keys asked about with has() (allowed, even when absent).
        self.seen: set[str] = set()
        self.known: set[str] = set()
        # Keys of earlier releases, refused with where they went (never listed as allowed).
        self.old: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if ":" in self.path else f"{self.path}:{key}"

    def error(self, key: str, message: str) -> None:
        self.problems.add(self.name(key), message)

    def has(self, key: str) -> bool:
        """Whether `key` is set; asking makes it a key allowed here (listed when a typo is refused)."""
        self.known.add(key)
        return self.data.get(key) is not None

    def moved(self, key: str, message: str) -> bool:
        """A key of an earlier release: refused with `message` (where it went) when it is set."""
        self.old.add(key)
        if self.data.get(key) is None:
            return False
        self.seen.add(key)
        self.error(key, f"moved: {message}")
        return True

    def raw(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        value = self.data.get(key)
        return default if value is None else value

    def string(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        choices: Optional[Iterable[str]] = None,
        check: Optional[Callable[[str], Optional[str]]] = None,
        secret: bool = False,
    ) -> Any:
        """A string; `check` returns a message when the value is wrong; a secret is never echoed."""
        value = self.raw(key)
        if value is None:
            if default is _MISSING:
                self.error(key, "is required" + (f"; one of {_list(choices)}" if choices else ""))
                return None
            return default
        shown = "a secret value (not shown)" if secret or self.is_secret(key) else describe(value)
        if not isinstance(value, str):
            self.error(key, f"must be a string, got {shown}")
            return default if default is not _MISSING else None
        value = value.strip()
        if choices is not None and value not in choices:
            self.error(key, f"must be one of {_list(choices)}, got {shown}")
            return default if default is not _MISSING else None
        if check is not None:
            message = check(value)
            if message:
                self.error(key, f"{message}, got {shown}")
                return default if default is not _MISSING else None
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int, maximum: int) -> Any:
        value = self.raw(key)
        if value is None:
            if default is _MISSING:
                self.error(key, f"is required: a whole number from {minimum} to {maximum}")
                return None
            return default
        # Config may arrive as a string ("8080") from `pulumi config set`, or a float from JSON.
        number = _as_int(value)
        if number is None or not minimum <= number <= maximum:
            self.error(key, f"must be a whole number from {minimum} to {maximum}, got {describe(value)}")
            return default if default is not _MISSING else None
        return number

    def number(self, key: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if isinstance(value, bool) or number is None or not minimum <= number <= maximum:
            self.error(key, f"must be a number from {minimum} to {maximum}, got {describe(value)}")
            return default
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.error(key, f"must be true or false, got {describe(value)}")
        return default

    def section(self, key: str) -> "Section":
        self.seen.add(key)
        return Section(self.data.get(key), self.name(key), self.problems, self.is_secret(key))

    def sections(self, key: str) -> list["Section"]:
        """A list of objects, each its own Section named `key[i]`."""
        value = self.raw(key, [])
        if not isinstance(value, list):
            self.error(key, f"must be a list, got {describe(value)}")
            return []
        return [Section(item, f"{self.name(key)}[{i}]", self.problems, self.is_secret(key))
                for i, item in enumerate(value)]

    def is_secret(self, key: str) -> bool:
        """Whether values read from `key` must stay secret (see the class docstring)."""
        return self.secret or key in self.secret_keys

    def finish(self, allowed_note: str = "") -> None:
        """Refuse every key that no getter asked for, suggesting the closest allowed ones and
        listing every one of them."""
        allowed = sorted((self.seen | self.known) - self.old, key=str.lower)
        for key in sorted(set(self.data) - self.seen, key=str):
            self.error(str(key), f"unknown setting; {suggest(str(key), allowed)}allowed here: "
                                 f"{_list(allowed)}{allowed_note}")


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _list(items: Optional[Iterable[str]]) -> str:
    return ", ".join(str(i) for i in (items or []))


def suggest(key: str, allowed: list[str]) -> str:
    """`did you mean X?` for the closest allowed keys (difflib's ratio, case ignored), or ""."""
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(by_lower[c] for c in close)}? " if close else ""


# --- checks shared by several settings -------------------------------------------------------

# One rule for every Kubernetes object name, label-like key and workload name (RFC 1123 label).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def label_problem(value: str) -> Optional[str]:
    if DNS_LABEL.match(value) and len(value) <= 63:
        return None
    return "must be a DNS label: 1-63 lower-case letters, digits or dashes, starting and ending with a letter or digit"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_problem(value: str) -> Optional[str]:
    return None if _EMAIL.match(value) else "must be an email address like ops@example.com"


# A host Django (GlitchTip and Sentry) accepts in a Host header and a Kubernetes Ingress accepts as a
# rule's host: dot-separated labels of letters, digits and dashes (RFC 1123), no underscore.
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def base_url_problem(value: str) -> Optional[str]:
    """The public base URL: scheme and host (and port), nothing after them."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "has a port out of range 1-65535"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return "must be an absolute URL with scheme and host, like https://errors.example.com"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return ("must not have a query string or fragment: the base URL is scheme and host only, like "
                "https://errors.example.com")
    if parts.path not in ("", "/"):
        return ("must not have a path: the tracker is served at the root of its host (Sentry does not serve under a "
                "sub-path and GlitchTip's frontend ignores one); give it a host of its own, like "
                "https://errors.example.com")
    host = parts.hostname
    if not host.startswith("[") and (len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split("."))):
        return ("has a host that is not a DNS name (letters, digits and dashes between dots, no underscore): Django "
                "(GlitchTip, Sentry) refuses such a Host header and a Kubernetes Ingress such a host")
    if port == 0:
        return "has a port out of range 1-65535"
    return None


def url_problem(value: str) -> Optional[str]:
    match = re.match(r"^(https?)://([^/\s:@]+)(:\d{1,5})?(/[^\s]*)?$", value)
    if not match:
        return "must be an absolute URL with scheme and host, like https://errors.example.com"
    if match.group(3) and not 1 <= int(match.group(3)[1:]) <= 65535:
        return "has a port out of range 1-65535"
    return None


# --- settings that hold credentials ------------------------------------------------------------

# A variable whose name ends like this names the credential itself (DATABASE_PASSWORD,
# AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN); the policy pack (policy/.../plain_secrets.py) judges names alike.
_CREDENTIAL_ENDINGS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS")


def _credential_variable(name: str, value: Any) -> bool:
    """Named as a credential, or a URL with a password in it."""
    named = name.upper().replace("-", "_").replace(".", "_").rsplit("_", 1)[-1] in _CREDENTIAL_ENDINGS
    return (named and value not in (None, "")) or _url_with_password(value)


def _url_with_password(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", value))


@dataclass(frozen=True)
class Credential:
    """A setting that carries a credential: refused unless it is set with `--secret`.

    `path` is dotted below `error-tracking:`; `*` stands for any one key (an env variable's name).
    `holds(name, value)` says whether this value carries one (default: any value that is set).
    """

    path: str
    what: str
    holds: Callable[[str, Any], bool] = lambda name, value: value not in (None, "")


# Every setting that carries a credential, in one place (README: "Settings that hold credentials";
# tests/test_credentials.py holds the two to one list). A new setting with a password, key or
# token goes here.
CREDENTIALS: tuple[Credential, ...] = (
    Credential("databaseUrl", "a PostgreSQL URL with its password"),
    Credential("valkeyUrl", "a Valkey/Redis URL with its password"),
    Credential("glitchtip.emailUrl", "an SMTP URL with a password in it",
               holds=lambda name, value: _url_with_password(value)),
    Credential("glitchtip.env.*", "a variable named as a credential (…_PASSWORD, …_SECRET, …_TOKEN, …_KEY) or a "
               "URL with a password", holds=_credential_variable),
    Credential("sentry.env.*", "a variable named as a credential (…_PASSWORD, …_SECRET, …_TOKEN, …_KEY) or a "
               "URL with a password", holds=_credential_variable),
    Credential("sentry.mail.password", "the SMTP password"),
    Credential("sentry.external.postgres.password", "the external PostgreSQL's password"),
    Credential("sentry.external.redis.password", "the external Redis' password"),
    Credential("sentry.external.kafka.sasl.password", "the external Kafka's SASL password"),
    Credential("sentry.external.clickhouse.password", "the external ClickHouse's password"),
    Credential("sentry.external.s3.secretAccessKey", "the object store's secret key"),
    Credential("backup.offsite.secretAccessKey", "the off-site bucket's secret key"),
    Credential("alerts.telegram.botToken", "the Telegram bot's token"),
    Credential("alerts.webhook.url", "a webhook URL, whose path or query is its token"),
    Credential("kubernetes.kubeconfig", "a kubeconfig's contents (client keys, tokens)",
               holds=lambda name, value: isinstance(value, str) and "\n" in value.strip()),
)


def _at(values: Any, parts: list[str], prefix: str = ""):
    """(dotted path, name, value) for every value at `parts` below `values` (`*`: any key)."""
    if not parts:
        yield prefix, prefix.rsplit(".", 1)[-1], values
        return
    if not isinstance(values, dict):
        return
    head, rest = parts[0], parts[1:]
    keys = [k for k in values if isinstance(k, str)] if head == "*" else [head] if head in values else []
    for key in keys:
        yield from _at(values[key], rest, f"{prefix}.{key}" if prefix else key)


def secret_command(path: str) -> str:
    return f"pulumi config set --secret --path '{path}' <value>"


def config_advice(path: str) -> str:
    """What to do about a credential in clear, said to an operator of the program's configuration."""
    return (f"is not set as a secret (it would sit in clear in the stack's file); set it with "
            f"`{secret_command(path)}`")


def credential_problems(values: Mapping[str, Any], secret_keys: frozenset[str],
                        plain_paths: Optional[frozenset[str]] = None,
                        advice: Callable[[str], str] = config_advice) -> list[str]:
    """Every credential in `values` that is not set as a secret, by its full name; never its value.

    Pulumi tells a program only which top-level keys hold a secret somewhere below them, so that
    is checked first. When the stack's file is readable, `plain_paths` names the values it keeps
    in clear, which also catches a plaintext password beside another value set as a secret.
    `advice` says how to mark one as a secret where the values come from (config, or arguments).
    """
    problems = []
    for credential in CREDENTIALS:
        for path, name, value in _at(values, credential.path.split(".")):
            if not credential.holds(name, value):
                continue
            top = path.split(".", 1)[0]
            in_clear = top not in secret_keys or (plain_paths is not None and path in plain_paths)
            if in_clear:
                problems.append(f"{PROJECT}:{path}: holds {credential.what} and {advice(path)}")
    return problems
