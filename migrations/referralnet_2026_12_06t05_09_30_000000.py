"""Encrypt the webhook secrets stored in plain text (AES-GCM, key from the instance key by HKDF).

The instance key is ``REFERRALNET_SECRET_KEY`` when set, else the generated one kept in
``instance_secret`` (made here if missing), exactly as the running service finds it. The format
is that of ``referralnet.notifications.sealing`` version 1, repeated here so that this migration
keeps doing what it did whatever that module becomes.
"""

import base64
import os
import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-06T05:09:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "encrypt plain-text webhook secrets at rest"

PREFIX = "v1:"
INFO = b"referralnet webhook secret v1"


def _seal(instance_key: str, organisation_id: int, secret: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(instance_key.encode())
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), str(organisation_id).encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


async def _encrypt_secrets():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)

    async def run(sql: str, *args: object) -> list[dict]:
        return await engine.run_querystring(QueryString(sql, *args))

    plain = await run(
        "SELECT id, webhook_secret FROM organisation WHERE webhook_secret IS NOT NULL AND webhook_secret NOT LIKE 'v1:%' ORDER BY id"
    )
    if not plain:
        return
    key = os.environ.get("REFERRALNET_SECRET_KEY")
    if not key:
        await run(
            "INSERT INTO instance_secret (name, value) VALUES ('signing', {}) ON CONFLICT (name) DO NOTHING",
            secrets.token_urlsafe(32),
        )
        key = (await run("SELECT value FROM instance_secret WHERE name = 'signing'"))[0]["value"]
    for row in plain:
        await run(
            "UPDATE organisation SET webhook_secret = {} WHERE id = {} AND webhook_secret = {}",
            _seal(key, row["id"], row["webhook_secret"]), row["id"], row["webhook_secret"],
        )  # fmt: skip


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_encrypt_secrets)
    return manager
