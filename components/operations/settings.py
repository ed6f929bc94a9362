"""The top-level `backup:` and `alerts:` sections, for every app.

    backup:   {enabled, hour, minute, retentionDays,
               drill: {enabled, dayOfMonth, hour, minute},
               offsite: {provider, endpoint, bucket, prefix, region, accessKeyId, secretAccessKey,
                         retentionDays, hour, minute}}
    alerts:   {telegram: {botToken, chatId}, webhook: {url}, email: {to},
               diskFreePercent, backupMaxAgeHours, heartbeatMaxAgeSeconds, intervalSeconds, failAfter,
               failWindow}

Times are UTC. The off-site copy runs an hour after the backup and the drill two hours after,
unless set. Secrets (keys, bot token, webhook URL) are never echoed in an error; they are held in
fields left out of repr and wrapped as Pulumi secrets where they reach a container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from components.spec import Schedule
from components.validation import Problems, Section, email_problem, url_problem

# rclone 1.75's S3 providers (docs/content/s3.md, --s3-provider); "Other" is any S3-compatible store.
S3_PROVIDERS = (
    "AWS", "Alibaba", "ArvanCloud", "BizflyCloud", "Ceph", "ChinaMobile", "Cloudflare", "Cubbit",
    "DigitalOcean", "Dreamhost", "Exaba", "Fastly", "FileLu", "FlashBlade", "GCS", "HCP", "Hetzner",
    "HuaweiOBS", "IBMCOS", "IDrive", "ImpossibleCloud", "Intercolo", "IONOS", "Leviia", "Liara",
    "Linode", "LyveCloud", "Magalu", "Mega", "Minio", "Netease", "Outscale", "OVHcloud", "Petabox",
    "Qiniu", "Rabata", "RackCorp", "Rclone", "Scaleway", "Scality", "SeaweedFS", "Selectel",
    "Servercore", "SpectraLogic", "Storj", "Synology", "TencentCOS", "US3", "Wasabi", "Zadara",
    "Zata", "ZeroServices", "Other",
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_REGION = re.compile(r"^[A-Za-z0-9-]{1,40}$")
_ACCESS_KEY = re.compile(r"^\S{3,256}$")
# Telegram bot tokens are "<bot id>:<secret>" (BotFather).
_BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


@dataclass(frozen=True)
class Drill:
    enabled: bool
    schedule: Schedule


@dataclass(frozen=True)
class Offsite:
    provider: str
    endpoint: Optional[str]
    bucket: str
    prefix: Optional[str]
    region: Optional[str]
    retention_days: int
    schedule: Schedule
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class BackupSettings:
    enabled: bool
    schedule: Schedule
    retention_days: int
    drill: Drill
    offsite: Optional[Offsite] = None
    # Set with `pulumi config set --secret` somewhere below `backup`: the off-site copy's values
    # (endpoint, bucket, prefix, region) then travel as secrets too.
    secret: bool = False
    # The keys the operator set (an app that backs nothing up refuses them: unused_backup_problems).
    configured: tuple[str, ...] = ()


@dataclass(frozen=True)
class Telegram:
    chat_id: str
    bot_token: str = field(repr=False)


@dataclass(frozen=True)
class AlertSettings:
    telegram: Optional[Telegram]
    webhook_url: Optional[str] = field(repr=False)
    email_to: tuple[str, ...]
    disk_free_percent: int
    backup_max_age_hours: int
    heartbeat_max_age_seconds: int
    interval_seconds: int
    fail_after: int
    # Set with `pulumi config set --secret` somewhere below `alerts`: every target (chat id,
    # addresses) then travels as a secret.
    secret: bool = False
    # A failure is alerted once a check failed `fail_after` of its last `fail_window` runs.
    fail_window: int = 5

    @property
    def any_target(self) -> bool:
        return bool(self.telegram or self.webhook_url or self.email_to)


def _time(section: Section, hour: int, minute: int) -> tuple[int, int]:
    return (
        section.integer("hour", hour, minimum=0, maximum=23),
        section.integer("minute", minute, minimum=0, maximum=59),
    )


def parse_backup(section: Section, problems: Optional[Problems] = None) -> BackupSettings:
    """`backup:`; problems are collected on the section's Problems (the argument is the same)."""
    enabled = section.boolean("enabled", True)
    hour, minute = _time(section, 3, 0)
    retention_days = section.integer("retentionDays", 30, minimum=1, maximum=3650)
    drill = _drill(section.section("drill"), enabled, (hour + 2) % 24, minute)
    offsite = None
    if section.has("offsite"):
        offsite = _offsite(section.section("offsite"), retention_days, (hour + 1) % 24, minute)
        if offsite and not enabled:
            section.error("offsite", "needs backups: set backup.enabled to true or remove backup.offsite")
    section.finish()
    return BackupSettings(enabled, Schedule(hour=hour, minute=minute), retention_days, drill, offsite,
                          secret=section.secret, configured=tuple(sorted(map(str, section.data))))


def unused_backup_problems(backup: Optional[BackupSettings], why: str) -> list[str]:
    """For an app that runs no database of its own to back up (`why` says so): every backup key
    the operator set, but `enabled: false`, is refused rather than silently ignored."""
    if backup is None:
        return []
    keys = [k for k in backup.configured if not (k == "enabled" and not backup.enabled)]
    return [f"error-tracking:backup.{key}: is not used: {why}; remove it (or set backup.enabled false)"
            for key in keys]


def _drill(section: Section, backups: bool, hour: int, minute: int) -> Drill:
    enabled = section.boolean("enabled", backups)
    if enabled and not backups:
        section.error("enabled", "a restore drill needs backups: set backup.enabled to true")
        enabled = False
    # Days 29-31 do not exist in every month: a drill set for them would skip months.
    day = section.integer("dayOfMonth", 1, minimum=1, maximum=28)
    hour, minute = _time(section, hour, minute)
    section.finish()
    return Drill(enabled, Schedule(hour=hour, minute=minute, day_of_month=day))


def _offsite(section: Section, retention_days: int, hour: int, minute: int) -> Optional[Offsite]:
    if not section.boolean("enabled", True):
        return None  # the rest is kept for later and not checked while off
    provider = section.string("provider", "Other", choices=S3_PROVIDERS)
    endpoint = section.string("endpoint", None, check=url_problem)
    if endpoint is None and provider != "AWS":
        section.error("endpoint", f"is required for provider {provider}: the S3 API URL, like https://s3.example.com")
    bucket = section.string("bucket", check=lambda v: None if _BUCKET.match(v) and ".." not in v else
                            "must be an S3 bucket name: 3-63 lower-case letters, digits, dots or dashes")
    prefix = section.string("prefix", None, check=lambda v: None if _PREFIX.match(v) and ".." not in v.split("/") else
                            "must be a path like backups/glitchtip (letters, digits, . _ - and inner slashes)")
    region = section.string("region", None, check=lambda v: None if _REGION.match(v) else
                            "must be a region name like eu-central-1 or auto")
    access_key_id = section.string("accessKeyId", secret=True, check=lambda v: None if _ACCESS_KEY.match(v) else
                                   "must be an access key id without spaces")
    secret_access_key = section.string("secretAccessKey", secret=True, check=lambda v: None if _ACCESS_KEY.match(v)
                                       else "must be a secret access key without spaces")
    days = section.integer("retentionDays", retention_days, minimum=1, maximum=3650)
    hour, minute = _time(section, hour, minute)
    section.finish()
    if None in (bucket, access_key_id, secret_access_key):
        return None
    return Offsite(provider, endpoint, bucket, prefix, region, days, Schedule(hour=hour, minute=minute),
                   access_key_id, secret_access_key)


def parse_alerts(section: Section, problems: Optional[Problems] = None) -> AlertSettings:
    """`alerts:`; problems are collected on the section's Problems (the argument is the same)."""
    telegram = _telegram(section.section("telegram")) if section.has("telegram") else None
    webhook_url = None
    if section.has("webhook"):
        webhook = section.section("webhook")
        webhook_url = webhook.string("url", secret=True, check=url_problem)
        webhook.finish()
    email_to: tuple[str, ...] = ()
    if section.has("email"):
        email = section.section("email")
        email_to = _recipients(email)
        email.finish()
    targets = ("telegram", "webhook", "email")
    for key in targets:
        section.raw(key)  # known keys, listed when an unknown one is refused
    fail_after = section.integer("failAfter", 3, minimum=1, maximum=20) or 3
    settings = AlertSettings(
        telegram=telegram,
        webhook_url=webhook_url,
        email_to=email_to,
        disk_free_percent=section.integer("diskFreePercent", 10, minimum=1, maximum=90),
        # Backups run daily: less than a day and an hour would alert before every backup.
        backup_max_age_hours=section.integer("backupMaxAgeHours", 26, minimum=25, maximum=720),
        heartbeat_max_age_seconds=section.integer("heartbeatMaxAgeSeconds", 180, minimum=30, maximum=3600),
        interval_seconds=section.integer("intervalSeconds", 60, minimum=15, maximum=3600),
        fail_after=fail_after,
        # Default: a majority of the last 2 x failAfter - 1 runs (3 of 5): a target down two checks
        # out of three is alerted, one that fails once in a while is not.
        fail_window=section.integer("failWindow", 2 * fail_after - 1, minimum=fail_after, maximum=60),
        secret=section.secret,
    )
    section.finish()
    if not any(section.has(key) for key in targets):
        # No target: no watchdog runs, so its thresholds would be silently ignored.
        for key in sorted(k for k in map(str, section.data) if k not in targets and k in section.seen):
            section.error(key, "is not used: no alert target is set (alerts.telegram, alerts.webhook or "
                          "alerts.email), so no watchdog runs; add a target or remove it")
    return settings


def _telegram(section: Section) -> Optional[Telegram]:
    token = section.string("botToken", secret=True, check=lambda v: None if _BOT_TOKEN.match(v) else
                           "must be a bot token from BotFather, like 123456789:AA...")
    raw_chat = section.raw("chatId")
    chat_id = None
    if raw_chat is None:
        section.error("chatId", "is required: the numeric chat id (negative for groups) or @channel")
    elif isinstance(raw_chat, bool) or not _CHAT_ID.match(str(raw_chat).strip()):
        section.error("chatId", f"must be a numeric chat id (negative for groups) or @channelname, got {raw_chat!r}")
    else:
        chat_id = str(raw_chat).strip()
    section.finish()
    return Telegram(chat_id, token) if token and chat_id else None


def _recipients(section: Section) -> tuple[str, ...]:
    raw = section.raw("to")
    values = [raw] if isinstance(raw, str) else raw
    if not values or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        section.error("to", "is required: an email address or a list of them")
        return ()
    bad = [v for v in values if email_problem(v.strip())]
    if bad:
        section.error("to", f"must be email addresses like ops@example.com, got {', '.join(repr(v) for v in bad)}")
        return ()
    return tuple(v.strip() for v in values)


def email_transport_problem(alerts: AlertSettings, email_url: Optional[str]) -> Optional[str]:
    """`alerts.email` sends through the app's SMTP; a cross-check for the app's settings."""
    if alerts.email_to and not (email_url and email_url.split("://", 1)[0] in ("smtp", "smtp+tls", "smtp+ssl")):
        return "alerts.email needs the app's SMTP settings (glitchtip.emailUrl smtp://, smtp+tls:// or smtp+ssl://)"
    return None
