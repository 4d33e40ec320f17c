"""Webhook deliveries: a JSON POST of the anonymised payload, signed with the organisation's secret.

Headers: ``X-Referralnet-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` and
``X-Referralnet-Delivery: <delivery id>`` (the same on every retry, so receivers drop repeats).
Any 2xx answer is a delivery; anything else, a timeout or a refused connection is retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

from referralnet import __version__
from referralnet.notifications import DeliveryError
from referralnet.notifications.email import payload_of
from referralnet.notifications.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign_body


def body(row: dict[str, Any]) -> bytes:
    """The payload with the kind, the delivery id and the time the event happened."""
    return msgspec.json.encode(
        {**payload_of(row), "kind": row["kind"], "delivery_id": row["delivery_id"], "created_at": row["created_at"]}
    )


async def deliver(row: dict[str, Any], secret: str | None, client: httpx.AsyncClient, timeout: float) -> None:
    """POST one row; raise DeliveryError with a readable reason unless the receiver answers 2xx."""
    org = row["organisation"]
    if not secret:
        raise DeliveryError(
            f"organisation {org} has no webhook secret, so the delivery cannot be signed; "
            f"create one with POST /api/v1/organisations/{org}/webhook-secret"
        )
    raw = body(row)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"referralnet/{__version__}",
        SIGNATURE_HEADER: sign_body(secret, raw),
        DELIVERY_HEADER: row["delivery_id"],
    }
    try:
        # httpx's timeout bounds each phase; this bounds the whole exchange (a receiver trickling bytes).
        async with asyncio.timeout(timeout):
            response = await client.post(row["recipient"], content=raw, headers=headers)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise DeliveryError(f"webhook {row['recipient']}: no answer within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {row['recipient']}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook {row['recipient']}: the receiver answered HTTP {response.status_code}")
