"""The Sentry component: its generated secrets, its description, its DSNs and CI token.

Everything upstream's install.sh would make by hand is made here once and kept in state: the
system secret key, passwords for every store (upstream: none), the object-storage keys
(upstream: sentry/sentry), Launchpad's shared secret (upstream: `supersecret`), Relay's key pair
from a seed (a regenerated key would make Sentry answer 403 to it) and the CI token's secret.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Optional

import pulumi

from components import dsn, secrets
from components.apps.sentry import catalog, install, install_commands, services, storage, versions
from components.apps.sentry.bootstrap_script import org_auth_token
from components.apps.sentry.config_files import config_files
from components.apps.sentry.credentials import Context, Secrets
from components.apps.sentry.files import env as file_env
from components.apps.sentry.files.nginx import EDGE_PORT
from components.apps.sentry.operations import operations
from components.apps.sentry.relay_keys import relay_credentials
from components.apps.sentry.settings import SentrySettings
from components.apps.site import Site, site_of
from components.operations.settings import unused_backup_problems
from components.settings import StackSettings
from components.spec import AppSpec, Entrypoint, report_from_output
from components.validation import ConfigError

TYPE = "error-tracking:apps:Sentry"
HEALTH_PATH = "/_health/"


@dataclasses.dataclass(frozen=True)
class Generated:
    """The secrets the component generates; every one a secret Output (placeholders in checks)."""

    system_secret_key: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    postgres_password: pulumi.Input[str]
    redis_password: pulumi.Input[str]
    clickhouse_password: pulumi.Input[str]
    launchpad_secret: pulumi.Input[str]
    relay_seed: pulumi.Input[str]
    ci_token_secret: pulumi.Input[str]
    object_store_access_key: pulumi.Input[str]
    object_store_secret_key: pulumi.Input[str]


def check_site(site: Site, settings: Optional[SentrySettings] = None) -> list[str]:
    """Top-level settings that belong to GlitchTip (Sentry's stores are configured under
    sentry.external), and backup settings when every store backed up runs outside."""
    problems = []
    for key, value, where in (("databaseUrl", site.database_url, "postgres"), ("valkeyUrl", site.valkey_url, "redis")):
        if value:
            problems.append(f"error-tracking:{key}: is read for GlitchTip only; for Sentry set "
                            f"sentry.external.{where} (host, port, ... and the password as a secret)")
    if settings is not None and {"postgres", "clickhouse"} <= set(settings.external.present):
        problems += unused_backup_problems(site.backup, "Sentry's Postgres and ClickHouse both run outside this "
                                           "stack (sentry.external), and their backups are their operators'")
    return problems


def describe(site: Site, settings: SentrySettings, generated: Generated) -> AppSpec:
    """The whole Sentry deployment of the chosen profile, for any platform."""
    external = settings.external
    secret_values = Secrets(
        system_secret_key=generated.system_secret_key,
        postgres_password=_chosen(external.postgres and external.postgres.password, generated.postgres_password),
        clickhouse_password=_chosen(external.clickhouse and external.clickhouse.password, generated.clickhouse_password),
        launchpad_rpc_shared_secret=generated.launchpad_secret,
        redis_password=(_chosen(external.redis.password, None) if external.redis else generated.redis_password),
        relay_id=_relay(generated.relay_seed, "id", secret=False),
        relay_public_key=_relay(generated.relay_seed, "public_key", secret=False),
        relay_secret_key=_relay(generated.relay_seed, "secret_key", secret=True),
        object_store_access_key=(external.s3.access_key_id if external.s3 else generated.object_store_access_key),
        object_store_secret_key=_chosen(external.s3 and external.s3.secret_access_key,
                                        generated.object_store_secret_key),
        kafka_sasl_password=_chosen(external.kafka and external.kafka.sasl_password, None),
        mail_password=_chosen(settings.mail and settings.mail.password, None),
    )
    built = services.services(settings, Context(secret_values, mail_domain=site.host,
                                                mail_domain_secret=site.is_secret("url")))
    steps = install_commands.install_steps(
        admin_email=site.admin_email,
        organization=site.organization,
        team=site.team,
        projects=[{"name": p.name, "platform": p.platform} for p in site.projects],
        url=site.url,
        retention_days=settings.event_retention_days,
        buckets=[name for name, _ in storage.buckets(settings)],
        unexpiring_buckets=[name for name, expires in storage.buckets(settings) if not expires],
        external_topics=_topics(settings),
        secret_settings=site.secret_keys,
    )
    step_secrets = {
        install_commands.ADMIN_PASSWORD: generated.admin_password,
        install_commands.CI_TOKEN_SECRET: generated.ci_token_secret,
        install_commands.S3_ACCESS_KEY_ID: secret_values.object_store_access_key,
        install_commands.S3_SECRET_ACCESS_KEY: secret_values.object_store_secret_key,
        file_env.KAFKA_SASL_PASSWORD: secret_values.kafka_sasl_password,
    }
    # Backups, drills, off-site copies and the watchdog; the migrations wait for the pre-upgrade backups.
    ops = operations(site, settings, built, secret_values)
    tasks = ops.gate(install.tasks(_explicit_sentry(steps), built, step_secrets))
    files = config_files(site, settings, secret_values)
    # On an upgrade the previous version stops first: then the backups, the migrations, the new version.
    stop, running, one_shots = install.stop_first(install.wait_for_steps(built, tasks), (*ops.tasks, *tasks))
    ready = ops.mount(running)
    cleanup = tuple(services.cleanup_schedule(s, settings) for s in ready if s.name == catalog.CLEANUP_JOB)
    spec = AppSpec(
        name="sentry",
        version=settings.version,
        services=services.per_platform((*ready, *ops.services)),
        tasks=one_shots,
        volumes=(*services.volumes(settings, built), *ops.volumes),
        entrypoint=Entrypoint(service="nginx", port=EDGE_PORT, health_path=HEALTH_PATH),
        scheduled=(*cleanup, *ops.scheduled),
        files=(*files, *ops.files),
        stops=(stop,),
        builds=tuple(b for b in (storage.image_build(settings),) if b is not None),
        # Symbolicator's system token is honoured only from INTERNAL_SYSTEM_IPS (files/sentry_conf.py).
        trusts_own_network=None if settings.internal_networks else "sentry.internalNetworks",
    )
    spec.validate()
    return spec


def _chosen(operator_value, generated):
    """An operator-supplied secret (external store) wins over a generated one; both stay secret."""
    value = operator_value if operator_value else generated
    return pulumi.Output.secret(value) if value is not None else None


def _relay(seed: pulumi.Input[str], field: str, secret: bool) -> pulumi.Output[str]:
    value = pulumi.Output.from_input(seed).apply(lambda s: getattr(relay_credentials(s), field))
    # The public key and id are not secret, though derived from the secret seed.
    return pulumi.Output.secret(value) if secret else pulumi.Output.unsecret(value)


def _topics(settings: SentrySettings):
    """Topics created with our partitions and retention before Snuba would create its defaults."""
    kafka = settings.external.kafka
    env = {"KAFKA_BOOTSTRAP_SERVERS": ",".join(kafka.bootstrap_servers) if kafka else "kafka:9092",
           "KAFKA_REPLICATION_FACTOR": str(kafka.replication_factor if kafka else 1)}
    if kafka and kafka.security_protocol != "PLAINTEXT":
        env["KAFKA_SECURITY_PROTOCOL"] = kafka.security_protocol
        if kafka.sasl_mechanism:
            env.update(KAFKA_SASL_MECHANISM=kafka.sasl_mechanism, KAFKA_SASL_USERNAME=kafka.sasl_username or "")
    return ([(t.name, t.partitions, t.config) for t in services.kafka_topics(settings)], env)


def _explicit_sentry(steps):
    """Sentry steps name `sentry` themselves: a reporting task's command may bypass the image's
    entrypoint (Kubernetes wraps it), which is what would otherwise prepend it. A step with its
    own entrypoint (a shell) names it in its script."""
    return tuple(
        dataclasses.replace(s, command=("sentry", *s.command))
        if s.image == install_commands.SENTRY and s.entrypoint is None and s.command[0] not in ("sentry", "python3")
        else s
        for s in steps
    )


def placeholders() -> Generated:
    """Stand-ins of the right shape, for the checks that run before any resource."""
    hex64 = "0" * 64
    return Generated(hex64, "placeholder", "0" * 32, "0" * 32, "0" * 32, "0" * 32, hex64, hex64, "0" * 20, "0" * 40)


def on_platform(settings: StackSettings) -> SentrySettings:
    """The `sentry:` settings with what the stack's platform can do, which decides where event
    payloads and files live by default (storage.py)."""
    return dataclasses.replace(settings.app_settings, capabilities=settings.platform_capabilities)


def describe_without_secrets(settings: StackSettings) -> AppSpec:
    site = site_of(settings)
    app = on_platform(settings)
    problems = check_site(site, settings.app_settings) + storage.problems(app)
    if problems:
        raise ConfigError(problems)
    return describe(site, app, placeholders())


class Sentry(pulumi.ComponentResource):
    """Generates every secret Sentry needs and describes its services and install steps for a
    platform to run; refuses a version jump across an upgrade hard stop. No platform resources."""

    report_task = "bootstrap"

    def __init__(self, name: str, settings: StackSettings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        self._site = site_of(settings)
        app = on_platform(settings)

        def hex_(suffix: str, length: int) -> pulumi.Output[str]:
            return secrets.hex_secret(f"{name}-{suffix}", length, self)

        self._generated = Generated(
            system_secret_key=hex_("secret-key", 64),
            admin_password=secrets.password(f"{name}-admin-password", 24, self),
            postgres_password=hex_("postgres-password", 32),
            redis_password=hex_("redis-password", 32),
            clickhouse_password=hex_("clickhouse-password", 32),
            launchpad_secret=hex_("launchpad-secret", 32),
            relay_seed=hex_("relay-seed", 64),
            ci_token_secret=hex_("ci-token-secret", 64),
            object_store_access_key=hex_("object-store-access-key", 20),
            object_store_secret_key=hex_("object-store-secret-key", 40),
        )
        self.admin_password = self._generated.admin_password
        self.spec = describe(self._site, app, self._generated)
        # Exported with output `deployed`: the next deployment refuses to strand this one's data.
        self.deployed_facts = storage.deployed_facts(app)
        self.upgrade_from = versions_gate(name, app, self)
        self.register_outputs({"adminPassword": self.admin_password, "upgradeFrom": self.upgrade_from})

    def dsns(self, task_output: pulumi.Output[str]) -> pulumi.Output[Mapping[str, str]]:
        names = [p.name for p in self._site.projects]
        url = self._site.url
        return pulumi.Output.secret(task_output.apply(lambda text: dsn.dsns_from_output(text, names, url)))

    def auth_token(self, task_output: pulumi.Output[str]) -> pulumi.Output[str]:
        """The organization token the bootstrap stored, in the form sentry-cli reads (`sntrys_...`)."""
        url = self._site.url

        def token(values) -> str:
            organization = json.loads(report_from_output(values[0]))["organization"]
            return org_auth_token(values[1], url, organization)

        return pulumi.Output.secret(pulumi.Output.all(task_output, self._generated.ci_token_secret).apply(token))


def versions_gate(name: str, settings: SentrySettings, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The version this stack ran before, read from its own last deployment (a StackReference to
    itself, known in preview too): a jump across a hard stop, or a default that would leave the
    data where Sentry no longer looks (storage.change_problems), fails here before any step runs."""
    version = settings.version
    organization = pulumi.get_organization() or "organization"  # a self-managed backend's name
    own = pulumi.StackReference(
        f"{name}-last-deployment",
        stack_name=f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}",
        opts=pulumi.ResourceOptions(parent=parent),
    )

    def check(previous) -> str:
        if previous and previous.get("app") == "sentry":
            problems = [p for p in (versions.upgrade_problem(previous.get("version"), version),) if p]
            problems += storage.change_problems(previous, settings)
            if problems:
                raise pulumi.RunError("\n".join(problems))
            return previous.get("version") or ""
        return ""

    return own.get_output("deployed").apply(check)
