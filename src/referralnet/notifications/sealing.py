"""Webhook secrets at rest: AES-GCM under a key derived (HKDF-SHA256) from the instance secret key.

A stored value reads ``v1:<base64url(nonce | ciphertext and tag)>``. The organisation id is the
associated data, so a value copied onto another organisation's row does not open. The key is only
as far from the data as the instance key is: set ``REFERRALNET_SECRET_KEY`` outside the database.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# A 43-character secret (signing.new_secret) seals to 98 characters: within organisation.webhook_secret's 100.
PREFIX = "v1:"
INFO = b"referralnet webhook secret v1"


class SecretUnreadable(ValueError):
    """A stored secret that does not open with this instance's key (or is not sealed at all)."""


def _cipher(instance_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(instance_key.encode())
    return AESGCM(key)


def seal(instance_key: str, organisation_id: int | str, secret: str) -> str:
    """The value to store for ``secret`` (a fresh random nonce each time).

    ``organisation_id`` binds it to its row: an organisation's id, or a text such as ``invite:<person id>``.
    """
    nonce = os.urandom(12)
    sealed = _cipher(instance_key).encrypt(nonce, secret.encode(), str(organisation_id).encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def unseal(instance_key: str, organisation_id: int | str, stored: str) -> str:
    """The secret back from its stored value; SecretUnreadable when the key or the row does not fit."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("the stored webhook secret is not encrypted")
    text = stored.removeprefix(PREFIX)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return _cipher(instance_key).decrypt(raw[:12], raw[12:], str(organisation_id).encode()).decode()
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SecretUnreadable("the stored webhook secret does not open with this instance's key") from exc
