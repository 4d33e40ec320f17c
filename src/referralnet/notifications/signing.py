"""Signatures: one-click offer links, capacity reminder links and webhook bodies.

One-click links carry a token ``<offer>.<action>.<expiry>.<mac>`` signed with the instance key
(``REFERRALNET_SECRET_KEY``, or a random key generated once and kept in the database so links survive
restarts). Webhook bodies are signed with the receiving organisation's own secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Literal

import msgspec

from referralnet.errors import BadLink
from referralnet.tables import InstanceSecret

Action = Literal["accept", "decline"]
ACTIONS: tuple[str, ...] = ("accept", "decline")
SIGNATURE_HEADER = "X-Referralnet-Signature"
DELIVERY_HEADER = "X-Referralnet-Delivery"


class OfferLink(msgspec.Struct, frozen=True):
    offer_id: int
    action: str
    expires: dt.datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: str, message: str) -> str:
    return _b64(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()[:20])


def make_offer_token(key: str, offer_id: int, action: str, expires: dt.datetime) -> str:
    """A URL-safe token allowing ``action`` on one offer until ``expires`` (the offer's deadline)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    message = f"{offer_id}.{action}.{int(expires.timestamp())}"
    return f"{message}.{_mac(key, message)}"


def read_offer_token(key: str, token: str, now: dt.datetime) -> OfferLink:
    """Check a token's signature and expiry; raise BadLink otherwise (never says which part failed)."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or parts[1] not in ACTIONS or not parts[2].isdigit():
        raise BadLink("this link is not valid")
    message = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, message), parts[3]):
        raise BadLink("this link is not valid")
    expires = dt.datetime.fromtimestamp(int(parts[2]), tz=dt.timezone.utc)
    if now >= expires:
        raise BadLink("this link has expired: the deadline to answer has passed")
    return OfferLink(offer_id=int(parts[0]), action=parts[1], expires=expires)


class CapacityLink(msgspec.Struct, frozen=True):
    service_id: int
    issued: dt.datetime
    expires: dt.datetime


def make_capacity_token(key: str, service_id: int, issued: dt.datetime, expires: dt.datetime) -> str:
    """A URL-safe token for the capacity reminder's page: ``<service>.capacity.<issued>.<expiry>.<mac>``.

    It allows one answer ("still correct" or a new figure) for one service, until a newer figure is
    recorded (after ``issued``) or ``expires``; its own verb keeps it from being read as an offer link.
    """
    message = f"{service_id}.capacity.{int(issued.timestamp())}.{int(expires.timestamp())}"
    return f"{message}.{_mac(key, message)}"


def read_capacity_token(key: str, token: str, now: dt.datetime) -> CapacityLink:
    """Check a capacity token's signature and expiry; raise BadLink otherwise."""
    parts = token.split(".")
    if len(parts) != 5 or parts[1] != "capacity" or not all(p.isdigit() for p in (parts[0], parts[2], parts[3])):
        raise BadLink("this link is not valid")
    message = ".".join(parts[:4])
    if not hmac.compare_digest(_mac(key, message), parts[4]):
        raise BadLink("this link is not valid")
    expires = dt.datetime.fromtimestamp(int(parts[3]), tz=dt.timezone.utc)
    if now >= expires:
        raise BadLink("this link has expired; update the capacity in referralnet or wait for the next reminder")
    issued = dt.datetime.fromtimestamp(int(parts[2]), tz=dt.timezone.utc)
    return CapacityLink(service_id=int(parts[0]), issued=issued, expires=expires)


def sign_body(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_body(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature over the raw body and compare in constant time."""
    return hmac.compare_digest(sign_body(secret, body), header)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def instance_key(configured: str | None) -> str:
    """The instance signing key: the configured one, else one generated once and kept in the database.

    Two instances starting together both try to insert; the unique name lets one win and both read it.
    """
    if configured:
        return configured
    await InstanceSecret.insert(InstanceSecret(name="signing", value=new_secret())).on_conflict(action="DO NOTHING")
    row = await InstanceSecret.select(InstanceSecret.value).where(InstanceSecret.name == "signing").first()
    assert row is not None
    return str(row["value"])
