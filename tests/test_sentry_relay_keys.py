"""Relay credentials from a seed, checked with Relay's own key parser (the sentry-relay package)."""

import base64
import json
import uuid

import pytest
from sentry_relay.auth import PublicKey, SecretKey, generate_key_pair

from components.apps.sentry.relay_keys import relay_credentials

SEED = bytes(range(224, 256)).hex()  # not a palindrome; encodes to "-" and "_" in base64url


def test_relay_parses_both_keys_and_verifies_a_signature_made_with_the_secret_key():
    credentials = relay_credentials(SEED)
    secret = SecretKey.parse(credentials.secret_key)
    public = PublicKey.parse(credentials.public_key)
    signature = secret.sign(b'{"relay_id": "x"}')
    assert public.verify(b'{"relay_id": "x"}', signature)
    assert not public.verify(b'{"relay_id": "y"}', signature)
    # Relay prints keys in the same encoding it parsed (unpadded base64url).
    assert str(secret) == credentials.secret_key and str(public) == credentials.public_key


def test_the_public_key_is_the_one_relay_itself_pairs_with_the_secret_key():
    secret, public = generate_key_pair()
    seed = base64.urlsafe_b64decode(str(secret) + "=")
    assert relay_credentials(seed).public_key == str(public)


def test_the_same_seed_always_gives_the_same_credentials_and_another_seed_other_ones():
    assert relay_credentials(SEED) == relay_credentials(bytes.fromhex(SEED))
    other = relay_credentials("5f" * 32)
    assert other.public_key != relay_credentials(SEED).public_key
    assert other.id != relay_credentials(SEED).id


def test_the_id_is_a_uuid_derived_from_the_public_key_unless_one_is_given():
    credentials = relay_credentials(SEED)
    assert uuid.UUID(credentials.id).version == 5
    given = "9a8b7c6d-0000-4000-8000-000000000001"
    assert relay_credentials(SEED, relay_id=given).id == given


def test_credentials_json_and_environment_carry_the_three_values():
    credentials = relay_credentials(SEED)
    assert json.loads(credentials.to_json()) == {
        "secret_key": credentials.secret_key, "public_key": credentials.public_key, "id": credentials.id,
    }
    assert credentials.environment() == {
        "RELAY_ID": credentials.id, "RELAY_PUBLIC_KEY": credentials.public_key, "RELAY_SECRET_KEY": credentials.secret_key,
    }


@pytest.mark.parametrize("seed", ["5e" * 31, "not hex at all", b"\x00" * 31])
def test_a_seed_that_is_not_32_bytes_is_refused(seed):
    with pytest.raises(ValueError, match="32 bytes"):
        relay_credentials(seed)
