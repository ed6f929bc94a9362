"""The settings as typed arguments: what the package's `ErrorTracking` takes, one place for every meaning.

Each key of the `error-tracking:` configuration is a key here, in snake_case (Pulumi's schema
analyzer turns `admin_email` into `adminEmail`, the configuration's own name), with its type and,
as the string right after it, its meaning. That string is the only copy: the package's schema
reads it (pulumi.provider.experimental.analyzer), and scripts/sync_descriptions.py writes it into
the README's configuration tables and Pulumi.yaml's config descriptions (tests/test_package_schema.py
fails when they differ). The arguments are validated by components.configuration, exactly as
the configuration is: nothing here checks a value.

Every argument is optional in the schema (the configuration decides what is required, with its
own message); a value can be a secret Output, and stays secret wherever it lands. No
`from __future__ import annotations` here: the analyzer reads the annotations as types. The
sections live in common.py (stack-wide), apps.py and platforms.py.
"""
from typing import TypedDict

import pulumi

from components.arguments.apps import Glitchtip, Mail, Workers, Kafka, ExternalPostgres, ExternalRedis, Sasl, ExternalKafka, ExternalClickhouse, ExternalS3, External, Sentry
from components.arguments.common import Project, EnvFile, KubernetesSecret, DsnTarget, Drill, Offsite, Backup, Telegram, Webhook, Email, Alerts, PostDeployCheck, Resources
from components.arguments.platforms import Docker, Ingress, Gateway, Autoscaling, Dns, Kubernetes


class ErrorTrackingArgs(TypedDict, total=False):
    """The whole configuration, one argument per `error-tracking:` key."""

    app: pulumi.Input[str]
    "which tracker to run: `glitchtip` or `sentry` (self-hosted 26.8.0)"
    platform: pulumi.Input[str]
    "where it runs: `docker` (one engine: local, `tcp://` or `ssh://`) or `kubernetes`"
    url: pulumi.Input[str]
    ("public base URL: scheme and host (and port), no path or query (Sentry serves only at the root of its host); a "
     "DNS name (no underscore; on Kubernetes no IP address); the host of every DSN")
    admin_email: pulumi.Input[str]
    "the superuser; its password is generated (output `adminPassword`)"
    organization: pulumi.Input[str]
    "organization name; a team of the same name is created"
    projects: pulumi.Input[list[Project]]
    "list of `{name, platform?}` (SDK platform, default `other`); one DSN each"
    dsn_targets: pulumi.Input[list[DsnTarget]]
    ("where to deliver DSNs: `{project, envFile: {path, key?, host?, hostKey?}}` (docker) or `{project, "
     "kubernetesSecret: {namespace, name, key?}}` (kubernetes), see [How applications get their "
     "DSN](#how-applications-get-their-dsn)")
    database_url: pulumi.Input[str]
    ("GlitchTip: an existing PostgreSQL (`postgres://...`) instead of ours (empty: ours); holds a password: must be a "
     "secret")
    valkey_url: pulumi.Input[str]
    ("GlitchTip: an existing Valkey or Redis (`redis://`, `rediss://`...) instead of ours (empty: ours); must be a "
     "secret")
    protect: pulumi.Input[bool]
    "protect data volumes and the namespace: `pulumi destroy` refuses (prod)"
    backup: Backup
    ("backups of the app's own Postgres, `{enabled, hour, minute, retentionDays, drill, offsite}`: daily verified "
     "dumps, a monthly restore drill, off-site copies (keys as secrets), see "
     "[Backups](#backups-restore-drill-off-site-copies)")
    alerts: Alerts
    ("the watchdog's targets, `{telegram: {botToken, chatId}, webhook: {url}, email: {to}}` (tokens and the webhook "
     "as secrets), and thresholds; none: no watchdog, see [Watchdog and alerts](#watchdog-and-alerts)")
    post_deploy_check: PostDeployCheck
    ("`{enabled, timeoutSeconds: 300}`: after `up`, wait until the tracker answers on its health endpoint and "
     "accepts an event for its own project `error-tracking-check` (on in dev), see [below](#post-deploy-check)")
    glitchtip: Glitchtip
    ("GlitchTip's own settings (`version`, `mode`, `valkey`, `emailUrl`, `replicas`, `resources`, `env`...), see "
     "[`glitchtip`](#glitchtip)")
    sentry: Sentry
    ("self-hosted Sentry's own settings (`version`, `profile`, `mail`, `workers`, `kafka`, `resources`, `external`, "
     "`nodestore`, `filestore`, `internalNetworks`, `env`), see [`sentry`](#sentry)")
    docker: Docker
    ("the Docker platform's settings (`host`, `sshOpts`, `sshHostKey`, `bindAddress`, `port`, `namePrefix`, "
     "`hostPaths`), see [`docker`](#docker)")
    kubernetes: Kubernetes
    ("the Kubernetes platform's settings (`kubeconfig`, `context`, `namespace`, `storageClass`, `ingress` or "
     "`gateway`, `autoscaling`, `egress`, `dns`, `volumeSizes`...), see [`kubernetes`](#kubernetes)")


__all__ = ["Alerts", "Autoscaling", "Backup", "Dns", "Docker", "Drill", "DsnTarget", "Email", "EnvFile", "ErrorTrackingArgs", "External", "ExternalClickhouse", "ExternalKafka", "ExternalPostgres", "ExternalRedis", "ExternalS3", "Gateway", "Glitchtip", "Ingress", "Kafka", "Kubernetes", "KubernetesSecret", "Mail", "Offsite", "PostDeployCheck", "Project", "Resources", "Sasl", "Sentry", "Telegram", "Webhook", "Workers"]
