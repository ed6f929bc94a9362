"""What the watchdog checks and whom it tells, read from its environment.

The variables are set by components.operations.describe; secrets (bot token, webhook URL, email
URL) arrive through the platform's secret store as variables, never on the command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

from . import senders


class ConfigError(Exception):
    pass


# The scheduled tasks a Kubernetes watchdog may follow: WATCHDOG_<NAME>_CRONJOB (dashes as
# underscores) names the CronJob, WATCHDOG_<NAME>_MAX_AGE_HOURS the age its last success may reach.
CRONJOB_CHECKS = ("backup", "drill", "offsite", "clickhouse-backup", "clickhouse-drill", "sentry-cleanup")


@dataclass(frozen=True)
class Config:
    mode: str  # "docker" or "kubernetes"
    site: str
    health_url: Optional[str] = None
    interval_seconds: int = 60
    fail_after: int = 3
    fail_window: Optional[int] = None  # runs fail_after failures are counted in (None: fail_after)
    # How long one target may take to answer one message (a hanging target delays no other for long).
    send_timeout_seconds: float = senders.TIMEOUT_SECONDS
    check_timeout_seconds: float = 10  # how long the health URL may take to answer
    # docker mode: shared volumes
    state_file: str = "/state/watchdog.json"
    heartbeat_file: Optional[str] = None
    heartbeat_max_age_seconds: int = 180
    backup_dir: Optional[str] = None
    backup_name: Optional[str] = None
    backup_max_age_hours: int = 26
    drill_max_age_days: Optional[int] = None
    offsite_max_age_hours: Optional[int] = None
    # More jobs recording .last-<name>-ok/-failed beside the backups: name -> max age (hours);
    # `result_dirs` names another directory for a job that records elsewhere.
    results: Mapping[str, int] = field(default_factory=dict)
    result_dirs: Mapping[str, str] = field(default_factory=dict)
    disk_free_percent: Optional[int] = None
    # kubernetes mode: objects by name in the pod's namespace
    state_configmap: Optional[str] = None
    worker_deployment: Optional[str] = None
    cronjobs: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # check -> (name, max age h)
    # alert targets
    telegram_token: Optional[str] = None
    telegram_chat_id: Optional[str] = None
    telegram_api: str = senders.TELEGRAM_API
    webhook_url: Optional[str] = None
    email_url: Optional[str] = None
    email_from: Optional[str] = None
    email_to: tuple[str, ...] = ()

    def targets(self) -> dict[str, senders.Sender]:
        """One sender per configured target, each taking the message text."""
        result: dict[str, senders.Sender] = {}
        timeout = self.send_timeout_seconds
        if self.telegram_token and self.telegram_chat_id:
            token, chat, api = self.telegram_token, self.telegram_chat_id, self.telegram_api
            result["telegram"] = lambda text: senders.send_telegram(token, chat, text, api, timeout)
        if self.webhook_url:
            url = self.webhook_url
            result["webhook"] = lambda text: senders.send_webhook(url, text, timeout)
        if self.email_url and self.email_to:
            smtp = senders.Smtp.from_url(self.email_url)
            sender, recipients = self.email_from or "watchdog@localhost", self.email_to
            result["email"] = lambda text: senders.send_email(
                smtp, sender, recipients, text.splitlines()[0][:150], text, timeout=timeout)
        return result


def from_environment(env: Mapping[str, str] = os.environ) -> Config:
    def text(name: str) -> Optional[str]:
        value = env.get(name, "").strip()
        return value or None

    def number(name: str, default: Optional[int]) -> Optional[int]:
        value = text(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None

    def seconds(name: str, default: float) -> float:
        value = text(name)
        try:
            return default if value is None else max(0.1, float(value))
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None

    mode = text("WATCHDOG_MODE") or "docker"
    if mode not in ("docker", "kubernetes"):
        raise ConfigError(f"WATCHDOG_MODE must be docker or kubernetes, got {mode!r}")
    cronjobs = {}
    for check in CRONJOB_CHECKS:
        variable = check.upper().replace("-", "_")
        name = text(f"WATCHDOG_{variable}_CRONJOB")
        if name:
            cronjobs[check] = (name, number(f"WATCHDOG_{variable}_MAX_AGE_HOURS", 26) or 26)
    results, result_dirs = {}, {}
    for item in (text("WATCHDOG_RESULTS") or "").split(","):
        if item.strip():
            job, _, rest = item.strip().partition(":")
            hours, _, directory = rest.partition(":")
            if not job or not hours.isdigit():
                raise ConfigError(f"WATCHDOG_RESULTS must list name:hours[:directory] entries, got {item.strip()!r}")
            results[job] = int(hours)
            if directory:
                result_dirs[job] = directory
    return Config(
        mode=mode,
        site=text("WATCHDOG_SITE") or "error tracking",
        health_url=text("WATCHDOG_HEALTH_URL"),
        interval_seconds=number("WATCHDOG_INTERVAL_SECONDS", 60) or 60,
        fail_after=max(1, number("WATCHDOG_FAIL_AFTER", 3) or 1),
        fail_window=number("WATCHDOG_FAIL_WINDOW", None),
        send_timeout_seconds=seconds("ALERT_TIMEOUT_SECONDS", senders.TIMEOUT_SECONDS),
        check_timeout_seconds=seconds("WATCHDOG_CHECK_TIMEOUT_SECONDS", 10),
        state_file=text("WATCHDOG_STATE_FILE") or "/state/watchdog.json",
        heartbeat_file=text("WATCHDOG_HEARTBEAT_FILE"),
        heartbeat_max_age_seconds=number("WATCHDOG_HEARTBEAT_MAX_AGE_SECONDS", 180) or 180,
        backup_dir=text("WATCHDOG_BACKUP_DIR"),
        backup_name=text("WATCHDOG_BACKUP_NAME"),
        backup_max_age_hours=number("WATCHDOG_BACKUP_MAX_AGE_HOURS", 26) or 26,
        drill_max_age_days=number("WATCHDOG_DRILL_MAX_AGE_DAYS", None),
        offsite_max_age_hours=number("WATCHDOG_OFFSITE_MAX_AGE_HOURS", None),
        results=results,
        result_dirs=result_dirs,
        disk_free_percent=number("WATCHDOG_DISK_FREE_PERCENT", None),
        state_configmap=text("WATCHDOG_STATE_CONFIGMAP"),
        worker_deployment=text("WATCHDOG_WORKER_DEPLOYMENT"),
        cronjobs=cronjobs,
        telegram_token=text("ALERT_TELEGRAM_BOT_TOKEN"),
        telegram_chat_id=text("ALERT_TELEGRAM_CHAT_ID"),
        telegram_api=text("ALERT_TELEGRAM_API") or senders.TELEGRAM_API,
        webhook_url=text("ALERT_WEBHOOK_URL"),
        email_url=text("ALERT_EMAIL_URL"),
        email_from=text("ALERT_EMAIL_FROM"),
        email_to=tuple(a.strip() for a in (text("ALERT_EMAIL_TO") or "").split(",") if a.strip()),
    )
