"""The secret values Sentry's services are built with, and the context a service is built in.

The app component fills `Secrets` with generated values, or with the operator's where a store runs
outside (`sentry.external`); environment.py and services.py put them only into `secret_env`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi


@dataclass(frozen=True)
class Secrets:
    """Values the app component generates (or takes from the operator's external settings).

    The Relay fields are relay_keys.relay_credentials(seed) taken apart inside Output.apply; the
    id and public key are not secret, but as Outputs they travel in secret_env too."""

    system_secret_key: pulumi.Input[str]
    postgres_password: pulumi.Input[str]
    clickhouse_password: pulumi.Input[str]
    launchpad_rpc_shared_secret: pulumi.Input[str]
    redis_password: Optional[pulumi.Input[str]] = None  # None only with an external Redis without one
    relay_id: Optional[pulumi.Input[str]] = None
    relay_public_key: Optional[pulumi.Input[str]] = None
    relay_secret_key: Optional[pulumi.Input[str]] = None
    object_store_access_key: Optional[pulumi.Input[str]] = None
    object_store_secret_key: Optional[pulumi.Input[str]] = None
    kafka_sasl_password: Optional[pulumi.Input[str]] = None
    mail_password: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class Context:
    secrets: Secrets
    mail_domain: Optional[str] = None  # SENTRY_MAIL_HOST: the FQDN mail is sent as (the public URL's host)
    # The public URL was set as a secret: so is the host taken from it.
    mail_domain_secret: bool = False
