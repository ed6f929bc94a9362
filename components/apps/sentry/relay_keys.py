"""Relay's credentials, derived from a 32-byte seed generated once and kept in Pulumi state.

Relay signs every request to Sentry with an Ed25519 key; Sentry trusts exactly that key
(sentry.conf.py). A regenerated key would mean 403s until Sentry's config follows, so the key is
never generated here: it is a pure function of the seed (a pulumi-random secret). Relay's
encoding (relay-auth): the secret key is the unpadded base64url of the 32-byte seed, the public
key the unpadded base64url of the 32-byte public key; `sentry_relay` (Relay's own parser) accepts
exactly these strings, which the tests check. The relay id is a UUID derived from the public key,
so it is stable too and reveals nothing about the secret.

Call these inside `Output.apply` on the seed; everything returned from the secret key is secret.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Optional, Union

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from components.apps.sentry.files import env

SEED_BYTES = 32
_RELAY_ID_NAMESPACE = uuid.UUID("6f1f3d0e-7a52-4c55-9d1e-2b4a8e1f0c37")  # ours, fixed forever
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class RelayCredentials:
    secret_key: str
    public_key: str
    id: str

    def to_json(self) -> str:
        """credentials.json as `relay credentials generate` writes it (secret)."""
        return json.dumps({"secret_key": self.secret_key, "public_key": self.public_key, "id": self.id})

    def environment(self) -> dict[str, str]:
        """Relay's credential overrides; RELAY_SECRET_KEY is secret, the others are not."""
        return {env.RELAY_ID: self.id, env.RELAY_PUBLIC_KEY: self.public_key, env.RELAY_SECRET_KEY: self.secret_key}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _seed_bytes(seed: Union[str, bytes]) -> bytes:
    if isinstance(seed, bytes):
        raw = seed
    elif _HEX.match(seed):
        raw = bytes.fromhex(seed)
    else:
        raise ValueError("the Relay key seed must be 32 bytes or 64 hex characters (RandomId(byte_length=32).hex)")
    if len(raw) != SEED_BYTES:
        raise ValueError(f"the Relay key seed must be {SEED_BYTES} bytes, got {len(raw)}")
    return raw


def public_key_for(seed: Union[str, bytes]) -> str:
    public = Ed25519PrivateKey.from_private_bytes(_seed_bytes(seed)).public_key()
    return _b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def relay_id_for(public_key: str) -> str:
    return str(uuid.uuid5(_RELAY_ID_NAMESPACE, public_key))


def relay_credentials(seed: Union[str, bytes], relay_id: Optional[str] = None) -> RelayCredentials:
    raw = _seed_bytes(seed)
    public = public_key_for(raw)
    return RelayCredentials(
        secret_key=_b64url(raw),
        public_key=public,
        id=str(uuid.UUID(relay_id)) if relay_id else relay_id_for(public),
    )
