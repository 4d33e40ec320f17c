"""Webhook deliveries: a JSON POST of the anonymised payload, signed with the organisation's secret.

Headers: ``X-Referralnet-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` and
``X-Referralnet-Delivery: <delivery id>`` (the same on every retry, so receivers drop repeats).
Any 2xx answer is a delivery; anything else, a timeout or a refused connection is retried.
The target is checked again before each attempt (:mod:`referralnet.notifications.outbound`) and the
request goes to the checked address; redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

from referralnet import __version__
from referralnet.notifications import DeliveryError
from referralnet.notifications.email import payload_of
from referralnet.notifications.outbound import TargetRefused, check_url
from referralnet.notifications.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign_body
from referralnet.settings import Settings


def body(row: dict[str, Any]) -> bytes:
    """The payload with the kind, the delivery id and the time the event happened."""
    return msgspec.json.encode(
        {**payload_of(row), "kind": row["kind"], "delivery_id": row["delivery_id"], "created_at": row["created_at"]}
    )


async def deliver(row: dict[str, Any], secret: str | None, settings: Settings) -> None:
    """POST one row to its checked address; raise DeliveryError with a readable reason unless the receiver answers 2xx."""
    org = row["organisation"]
    if not secret:
        raise DeliveryError(
            f"organisation {org} has no webhook secret, so the delivery cannot be signed; "
            f"create one with POST /api/v1/organisations/{org}/webhook-secret"
        )
    timeout = settings.webhook_timeout_seconds
    try:
        target = await check_url(row["recipient"], settings)
    except TargetRefused as exc:
        raise DeliveryError(f"webhook {row['recipient']}: refused: {exc}") from exc
    raw = body(row)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": f"referralnet/{__version__}",
        SIGNATURE_HEADER: sign_body(secret, raw),
        DELIVERY_HEADER: row["delivery_id"],
    }
    extensions = {"sni_hostname": target.sni} if target.sni else {}
    try:
        # A client per delivery: pooled connections are keyed by address, and two hosts sharing an
        # address must not share a TLS session. No proxies from the environment: they would resolve anew.
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            # httpx's timeout bounds each phase; this bounds the whole exchange (a receiver trickling bytes).
            async with asyncio.timeout(timeout):
                response = await client.post(target.url, content=raw, headers=headers, extensions=extensions)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise DeliveryError(f"webhook {row['recipient']}: no answer within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {row['recipient']}: {type(exc).__name__}: {exc}") from exc
    if 300 <= response.status_code < 400:
        raise DeliveryError(f"webhook {row['recipient']}: the receiver answered HTTP {response.status_code} (redirects are not followed)")
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook {row['recipient']}: the receiver answered HTTP {response.status_code}")
