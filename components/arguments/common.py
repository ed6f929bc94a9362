"""The stack-wide settings as typed arguments: projects, DSN targets, backups, alerts, the
post-deploy check, resources. No `from __future__ import annotations`: the analyzer reads the annotations as types.
"""

from typing import TypedDict

import pulumi


class Project(TypedDict, total=False):
    """One application that reports errors: a project with its own DSN."""

    name: pulumi.Input[str]
    "the project's name: 1-50 letters, digits, spaces, dots, dashes or underscores"
    platform: pulumi.Input[str]
    "the SDK platform (`python`, `node`, `javascript-react`, `go`...), default `other`"


class EnvFile(TypedDict, total=False):
    """An env file that gets one project's DSN (Docker)."""

    path: pulumi.Input[str]
    "the file's absolute path"
    key: pulumi.Input[str]
    "the variable to set, default `SENTRY_DSN`"
    host: pulumi.Input[str]
    "`ssh://user@host[:port]` when the file is on another host than the Docker engine's"
    host_key: pulumi.Input[str]
    "that host's key (`ssh-ed25519 AAAA…`), pinned"


class KubernetesSecret(TypedDict, total=False):
    """A Kubernetes Secret that gets one project's DSN, in the application's namespace."""

    namespace: pulumi.Input[str]
    "the application's namespace, which must exist"
    name: pulumi.Input[str]
    "the Secret's name"
    key: pulumi.Input[str]
    "the key in the Secret, default `SENTRY_DSN`"


class DsnTarget(TypedDict, total=False):
    """Where one project's DSN is delivered: exactly one of `envFile` and `kubernetesSecret`."""

    project: pulumi.Input[str]
    "the project whose DSN this is"
    env_file: EnvFile
    "an env file (platform `docker`)"
    kubernetes_secret: KubernetesSecret
    "a Secret (platform `kubernetes`)"


class Drill(TypedDict, total=False):
    """The monthly restore drill."""

    enabled: pulumi.Input[bool]
    "run the drill, default `true`"
    day_of_month: pulumi.Input[int]
    "the day it runs, default `1`"
    hour: pulumi.Input[int]
    "the hour (UTC) it runs"
    minute: pulumi.Input[int]
    "the minute it runs"


class Offsite(TypedDict, total=False):
    """Off-site copies of every dump, to an S3-compatible bucket."""

    enabled: pulumi.Input[bool]
    "copy the dumps, default `true` once `offsite` is set"
    provider: pulumi.Input[str]
    "rclone's S3 provider name (`AWS`, `Minio`, `Other`...)"
    endpoint: pulumi.Input[str]
    "the S3 endpoint, `https://...`"
    bucket: pulumi.Input[str]
    "the bucket"
    prefix: pulumi.Input[str]
    "a prefix inside the bucket"
    region: pulumi.Input[str]
    "the bucket's region"
    access_key_id: pulumi.Input[str]
    "the access key's id"
    secret_access_key: pulumi.Input[str]
    "the access key's secret: must be a secret"
    hour: pulumi.Input[int]
    "the hour (UTC) the copy runs, default an hour after the backup"
    minute: pulumi.Input[int]
    "the minute the copy runs"
    retention_days: pulumi.Input[int]
    "days a copy is kept there, default the backup's"


class Backup(TypedDict, total=False):
    """Backups of the app's own database."""

    enabled: pulumi.Input[bool]
    "daily verified dumps, default `true`"
    hour: pulumi.Input[int]
    "the hour (UTC) of the daily dump, default `3`"
    minute: pulumi.Input[int]
    "its minute, default `0`"
    retention_days: pulumi.Input[int]
    "days a dump is kept, default `30`"
    drill: Drill
    "the monthly restore drill"
    offsite: Offsite
    "off-site copies to an S3 bucket"


class Telegram(TypedDict, total=False):
    """Alerts to a Telegram chat."""

    bot_token: pulumi.Input[str]
    "the bot's token from BotFather: must be a secret"
    chat_id: pulumi.Input[str]
    "the numeric chat id (negative for groups) or `@channel`"


class Webhook(TypedDict, total=False):
    """Alerts posted to a webhook."""

    url: pulumi.Input[str]
    "the webhook's URL, whose path or query is its token: must be a secret"


class Email(TypedDict, total=False):
    """Alerts by e-mail, through `glitchtip.emailUrl`."""

    to: pulumi.Input[list[pulumi.Input[str]]]
    "the recipients"


class Alerts(TypedDict, total=False):
    """The watchdog's targets and thresholds."""

    telegram: Telegram
    "a Telegram chat"
    webhook: Webhook
    "a webhook"
    email: Email
    "e-mail recipients"
    disk_free_percent: pulumi.Input[int]
    "alert below this much free disk, default `10`"
    backup_max_age_hours: pulumi.Input[int]
    "alert when the newest backup is older, default `26`"
    fail_after: pulumi.Input[int]
    "alert once a check failed this many times within its last `failWindow` checks, default `3`"
    fail_window: pulumi.Input[int]
    "how many of a check's last runs `failAfter` counts, from `failAfter` to 60, default `2 × failAfter − 1` (5)"
    heartbeat_max_age_seconds: pulumi.Input[int]
    "the worker's heartbeat may be this old"
    interval_seconds: pulumi.Input[int]
    "how often the watchdog checks (Docker)"


class PostDeployCheck(TypedDict, total=False):
    """The check after each deployment."""

    enabled: pulumi.Input[bool]
    "check health and ingest after each deployment, default `false`"
    timeout_seconds: pulumi.Input[int]
    "how long the tracker has to answer, default `300`"


class Resources(TypedDict, total=False):
    """One container's limits and requests."""

    memory_mb: pulumi.Input[int]
    "the memory limit, MiB"
    cpu: pulumi.Input[float]
    "the CPU limit, cores"
    memory_request_mb: pulumi.Input[int]
    "the memory request (reservation), MiB"
    cpu_request: pulumi.Input[float]
    "the CPU request, cores"
