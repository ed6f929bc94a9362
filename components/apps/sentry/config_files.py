"""Sentry's configuration files for one deployment: what each file needs to know from the settings
(files/ renders them), rendered once Relay's key is known, and Valkey's password-bearing config.
"""

from __future__ import annotations

import dataclasses

import pulumi

from components import stores
from components.apps.sentry import sizing
from components.apps.sentry.credentials import Secrets
from components.apps.sentry.files import (
    FILE_PATHS, FilesContext, Kafka, Mail, ObjectStorage, Postgres, Redis, render_files,
)
from components.apps.sentry.settings import SentrySettings
from components.apps.site import Site
from components.spec import ConfigFile

UPSTREAM_VALKEY_MAXMEMORY_MB = 0  # getsentry/self-hosted@26.8.0:redis.conf `maxmemory 0`


def config_files(site: Site, settings: SentrySettings, secret_values: Secrets) -> tuple[ConfigFile, ...]:
    """Every configuration file; rendered once the Relay key is known. Files carry operator values
    (mail, url), so they are secret when the operator set those as secrets."""
    secret = settings.secret or site.is_secret("url") or site.is_secret("adminEmail")
    context = files_context(site, settings)
    rendered = pulumi.Output.all(secret_values.relay_public_key, secret_values.relay_id).apply(
        lambda v: {f.name: f.content for f in render_files(dataclasses.replace(
            context, relay_public_key=v[0], relay_id=v[1]))})
    files = [ConfigFile(name, rendered.apply(lambda c, n=name: c[n]), secret=secret)
             for name in FILE_PATHS]
    if "redis" in settings.deployed_services:
        # Upstream's redis.conf: `maxmemory 0`, `volatile-lru`. Sentry keeps in-flight event
        # payloads, attachments and buffers there; a cap would evict them (TTL keys) or fail the
        # writes of keys without a TTL. The container's limit (sizing.py) is the bound.
        content = pulumi.Output.from_input(secret_values.redis_password).apply(
            lambda p: stores.valkey_config(p, UPSTREAM_VALKEY_MAXMEMORY_MB))
        files.append(ConfigFile("redis-conf", pulumi.Output.secret(content), secret=True))
    return tuple(files)


def files_context(site: Site, settings: SentrySettings) -> FilesContext:
    """Everything but Relay's key and id, which the app fills in once they are known."""
    external = settings.external
    mail = settings.mail
    clickhouse_mb = settings.resources_for("clickhouse").memory_mb if "clickhouse" in settings.deployed_services \
        else 2048
    return FilesContext(
        url=site.url,
        admin_email=site.admin_email,
        relay_public_key="",
        relay_id="",
        profile=settings.profile,
        event_retention_days=settings.event_retention_days,
        mail=Mail(host=mail.host, port=mail.port, username=mail.username or "", use_tls=mail.use_tls,
                  use_ssl=mail.use_ssl, from_address=mail.from_address or f"sentry@{site.host}",
                  has_password=bool(mail.password))
        if mail else Mail(from_address=f"sentry@{site.host}"),
        postgres=Postgres(user=external.postgres.username, name=external.postgres.database,
                          sslmode=external.postgres.ssl_mode) if external.postgres else Postgres(),
        redis=Redis(host=external.redis.host, port=external.redis.port, db=external.redis.db)
        if external.redis else Redis(),
        kafka=Kafka(bootstrap_servers=",".join(external.kafka.bootstrap_servers),
                    security_protocol=external.kafka.security_protocol,
                    sasl_mechanism=external.kafka.sasl_mechanism, sasl_username=external.kafka.sasl_username)
        if external.kafka else Kafka(),
        storage=ObjectStorage(endpoint_url=external.s3.endpoint_url, region=external.s3.region,
                              nodestore_bucket=external.s3.nodestore_bucket,
                              profiles_bucket=external.s3.profiles_bucket, files_bucket=external.s3.files_bucket,
                              addressing_style=external.s3.addressing_style) if external.s3 else ObjectStorage(),
        nodestore=settings.nodestore,
        filestore=settings.filestore,
        internal_networks=settings.internal_networks,
        clickhouse_memory_limit_mb=clickhouse_mb,
        clickhouse_memory_ratio=sizing.clickhouse_max_memory_ratio(clickhouse_mb),
    )
