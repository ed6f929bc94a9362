"""The install one-shots, in upstream's order (install.sh at 26.8.0), as exact commands.

Upstream order of the steps that change data: bootstrap-s3-nodestore (bucket `nodestore` +
lifecycle expiry; here also `files` for the S3 file store, without expiry), bootstrap-snuba (`snuba bootstrap --force`: Kafka topics and ClickHouse
migrations), bootstrap-s3-profiles (feature-complete: bucket `profiles` + lifecycle),
set-up-and-migrate-database (`sentry upgrade --noinput --create-kafka-topics`), then user creation.
We run both buckets in one step before Snuba (neither depends on Snuba), create the Kafka topics
ourselves first when the Kafka is external with auto-creation off (`sentry upgrade` only waits for
topics to appear), and finish with the bootstrap script (organization, team, projects, DSNs).

Commands go to each image's own entrypoint, as `docker compose run <service> <command>` does:
Sentry's prepends `sentry` (and drops to the sentry user), Snuba's prepends `snuba`. Upstream
installs s3cmd into the SeaweedFS container at install time; a deploy cannot, so buckets are made
with the official AWS CLI image. No secret and no operator value is ever on a command line: they
come from the environment (`secret_env`, or `env` with `sealed` naming those set as secrets).
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field
from typing import Collection, Iterable, Mapping, Optional, Sequence

from components.apps.sentry import bootstrap_script as _bootstrap_module
from components.apps.sentry.files import env as file_env

_kafka_topics_file = pathlib.Path(file_env.__file__).with_name("kafka_topics.py")

SENTRY = "sentry"  # runs in the Sentry image
SNUBA = "snuba"  # runs in the Snuba image
# The AWS CLI v2 image (entrypoint `aws`, a shell inside); pinned, released 2025-11.
BUCKET_CLIENT_IMAGE = "amazon/aws-cli:2.32.2"

SNUBA_BOOTSTRAP = ("bootstrap", "--force")
SENTRY_UPGRADE = ("upgrade", "--noinput", "--create-kafka-topics")

# Names of the secret values each step's caller supplies in `secret_env`.
S3_ACCESS_KEY_ID = file_env.S3_ACCESS_KEY_ID
S3_SECRET_ACCESS_KEY = file_env.S3_SECRET_ACCESS_KEY
ADMIN_PASSWORD = "BOOTSTRAP_ADMIN_PASSWORD"
CI_TOKEN_SECRET = "BOOTSTRAP_CI_TOKEN_SECRET"


@dataclass(frozen=True)
class InstallStep:
    """One one-shot task: which image (SENTRY, SNUBA or a full image reference), what it runs,
    its plain environment and the names of the secret variables the caller must provide."""

    name: str
    image: str
    command: tuple[str, ...]
    entrypoint: Optional[tuple[str, ...]] = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ()
    reports: bool = False
    # Variables of `env` whose values come from settings the operator set as secrets: they travel
    # as secrets (never a ConfigMap), their values still given here.
    sealed: tuple[str, ...] = ()


def _lifecycle(days: int, bucket: str) -> str:
    rule = {"ID": f"sentry-{bucket}-expiry", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": days}}
    return json.dumps({"Rules": [rule]})


def create_buckets(buckets: Sequence[str], retention_days: int, endpoint: str = "http://seaweedfs:8333",
                   unexpiring: Sequence[str] = ()) -> InstallStep:
    """Create each bucket unless it exists and (re)apply its expiry, like upstream's s3cmd steps;
    the `unexpiring` ones (uploaded files, which Sentry deletes itself) get no expiry."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    lines = ["set -eu"]
    for bucket in buckets:
        lines.append(f'aws --endpoint-url "$S3_ENDPOINT" s3api head-bucket --bucket {bucket} >/dev/null 2>&1'
                     f' || aws --endpoint-url "$S3_ENDPOINT" s3api create-bucket --bucket {bucket}')
        if bucket in unexpiring:
            lines.append(f'echo "bucket {bucket}: present, objects kept until Sentry deletes them"')
            continue
        lines += [
            f'aws --endpoint-url "$S3_ENDPOINT" s3api put-bucket-lifecycle-configuration --bucket {bucket}'
            f" --lifecycle-configuration '{_lifecycle(retention_days, bucket)}'",
            f'echo "bucket {bucket}: present, objects expire after {retention_days} days"',
        ]
    return InstallStep(
        name="create-buckets",
        image=BUCKET_CLIENT_IMAGE,
        entrypoint=("/bin/sh", "-c"),
        command=("\n".join(lines),),
        env={
            "S3_ENDPOINT": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            # Newer CLIs add CRC checksums S3-compatible stores may not know; send them only when
            # the operation requires one.
            "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        },
        secret_env=(S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY),
    )


# Runs with `python3 -c` in the Sentry image (which ships confluent-kafka): creates the missing
# topics and brings existing ones to the wanted partitions and configs (files/kafka_topics.py).
TOPICS_SCRIPT = pathlib.Path(_kafka_topics_file).read_text(encoding="utf-8")


def create_kafka_topics(topics: Iterable[tuple[str, int, Mapping[str, str]]], kafka_env: Mapping[str, str]) -> InstallStep:
    """Create (name, partitions, config) topics, and bring existing ones to them: a later `pulumi
    up` that changes retention or partitions reruns the step (its KAFKA_TOPICS changed).

    `kafka_env` holds the plain client settings (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL,
    KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SSL_*_LOCATION, KAFKA_REPLICATION_FACTOR);
    the SASL password, when any, is the secret KAFKA_SASL_PASSWORD.
    """
    listed = [{"name": name, "partitions": int(partitions), "config": dict(config)} for name, partitions, config in topics]
    names = [t["name"] for t in listed]
    if len(set(names)) != len(names):
        raise ValueError("a Kafka topic is listed twice")
    if any(t["partitions"] < 1 for t in listed):
        raise ValueError("every Kafka topic needs at least one partition")
    if "KAFKA_BOOTSTRAP_SERVERS" not in kafka_env:
        raise ValueError("kafka_env must name KAFKA_BOOTSTRAP_SERVERS")
    sasl = kafka_env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").startswith("SASL_")
    return InstallStep(
        name="create-kafka-topics",
        image=SENTRY,
        command=("python3", "-c", TOPICS_SCRIPT),
        env={**kafka_env, "KAFKA_TOPICS": json.dumps(listed, sort_keys=True)},
        secret_env=(file_env.KAFKA_SASL_PASSWORD,) if sasl else (),
    )


def snuba_bootstrap() -> InstallStep:
    return InstallStep(name="snuba-bootstrap", image=SNUBA, command=SNUBA_BOOTSTRAP)


def sentry_upgrade() -> InstallStep:
    return InstallStep(name="sentry-upgrade", image=SENTRY, command=SENTRY_UPGRADE)


# `createuser` reads the address from its prompt when `--email` is not given (click.prompt on
# stdin); the shell hands it over from the environment, so no command line ever carries it.
CREATE_ADMIN_SCRIPT = r"""printf '%s\n' "$BOOTSTRAP_ADMIN_EMAIL" | sentry createuser --superuser --no-password"""


def create_admin(email: str, sealed: bool = False) -> InstallStep:
    """`sentry createuser` with neither the password nor the address on its command line.

    createuser (getsentry/sentry runner/commands/createuser.py, the click command of the 24.x-26.x
    line: `--email` repeatable, `--org-id`, `--staff`) takes the password only as `--password
    <value>` and the address only as `--email <value>`, both visible to any process listing, and
    reads neither from the environment (no envvar, no auto_envvar_prefix in runner/main.py).
    Without `--email` and without `--no-input` it prompts for the address and reads it from
    stdin; `--superuser` and `--no-password` answer the other two prompts. It creates the
    superuser, makes it owner of the default organization and Super Admin; an existing user is
    left alone and the command still exits 0. The bootstrap script then sets the password from its
    secret environment, and again whenever it changes, so `--force-update` is never needed.
    `sealed`: the address is a secret (adminEmail set with --secret).
    """
    return InstallStep(
        name="create-admin",
        image=SENTRY,
        entrypoint=("/bin/sh", "-c"),
        command=(CREATE_ADMIN_SCRIPT,),
        env={"BOOTSTRAP_ADMIN_EMAIL": email},
        sealed=("BOOTSTRAP_ADMIN_EMAIL",) if sealed else (),
    )


def bootstrap_script() -> str:
    with open(_bootstrap_module.__file__, encoding="utf-8") as handle:
        return handle.read()


# Which setting each of the bootstrap's variables comes from: set as a secret, it travels as one.
BOOTSTRAP_SOURCES = {
    "BOOTSTRAP_ADMIN_EMAIL": "adminEmail",
    "BOOTSTRAP_ORGANIZATION": "organization",
    "BOOTSTRAP_TEAM": "organization",
    "BOOTSTRAP_PROJECTS": "projects",
    "BOOTSTRAP_URL": "url",
}


def bootstrap(admin_email: str, organization: str, team: str, projects: Sequence[Mapping[str, str]],
              url: str, with_ci_token: bool = True, secret_settings: Collection[str] = ()) -> InstallStep:
    """The bootstrap script through `sentry exec -c`; it prints the report line the app reads.
    `secret_settings`: the top-level settings the operator set as secrets."""
    return InstallStep(
        name="bootstrap",
        image=SENTRY,
        command=("exec", "-c", bootstrap_script()),
        env={
            "BOOTSTRAP_ADMIN_EMAIL": admin_email,
            "BOOTSTRAP_ORGANIZATION": organization,
            "BOOTSTRAP_TEAM": team,
            "BOOTSTRAP_PROJECTS": json.dumps([{"name": p["name"], "platform": p.get("platform")} for p in projects]),
            "BOOTSTRAP_URL": url,
        },
        secret_env=(ADMIN_PASSWORD, CI_TOKEN_SECRET) if with_ci_token else (ADMIN_PASSWORD,),
        reports=True,
        sealed=tuple(name for name, setting in BOOTSTRAP_SOURCES.items() if setting in secret_settings),
    )


def install_steps(
    *,
    admin_email: str,
    organization: str,
    team: str,
    projects: Sequence[Mapping[str, str]],
    url: str,
    retention_days: int,
    buckets: Sequence[str] = (),
    unexpiring_buckets: Sequence[str] = (),
    external_topics: Optional[tuple[Sequence[tuple[str, int, Mapping[str, str]]], Mapping[str, str]]] = None,
    secret_settings: Collection[str] = (),
) -> tuple[InstallStep, ...]:
    """All steps in the order they must run; each waits for the one before it.

    `buckets`: the bundled SeaweedFS buckets in use (`nodestore` with the S3 node store,
    `profiles` in feature-complete, `files` with the S3 file store, which is `unexpiring`). `external_topics`: (topics, kafka_env) when Kafka is external.
    `secret_settings`: the top-level settings set as secrets (adminEmail, organization, ...).
    """
    steps = []
    if buckets:
        steps.append(create_buckets(buckets, retention_days, unexpiring=unexpiring_buckets))
    if external_topics is not None:
        steps.append(create_kafka_topics(*external_topics))
    steps += [
        snuba_bootstrap(),
        sentry_upgrade(),
        create_admin(admin_email, sealed="adminEmail" in secret_settings),
        bootstrap(admin_email, organization, team, projects, url, secret_settings=secret_settings),
    ]
    return tuple(steps)
