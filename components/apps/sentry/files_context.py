"""The configuration files' context from the stack's settings: what each file needs to know."""

from __future__ import annotations

from components.apps.sentry import catalog, sizing
from components.apps.sentry.files import FilesContext, Kafka, Mail, ObjectStorage, Postgres, Redis
from components.apps.sentry.settings import SentrySettings
from components.apps.site import Site


def files_context(site: Site, settings: SentrySettings) -> FilesContext:
    """Everything but Relay's key and id, which the app fills in once they are known."""
    external = settings.external
    mail = settings.mail
    clickhouse_mb = settings.resources_for("clickhouse").memory_mb if "clickhouse" in catalog.deployed(settings) \
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
                              profiles_bucket=external.s3.profiles_bucket) if external.s3 else ObjectStorage(),
        nodestore=settings.nodestore,
        internal_networks=settings.internal_networks,
        clickhouse_memory_limit_mb=clickhouse_mb,
        clickhouse_memory_ratio=sizing.clickhouse_max_memory_ratio(clickhouse_mb),
    )
