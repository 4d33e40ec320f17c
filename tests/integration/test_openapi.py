"""The OpenAPI document and the API explorer work offline and describe every handler."""

from __future__ import annotations

import re
from typing import Any


async def test_openapi_document_lists_the_contract_paths(client: Any) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/api/v1/organisations",
        "/api/v1/organisations/{org_id}",
        "/api/v1/organisations/{org_id}/services",
        "/api/v1/services",
        "/api/v1/services/{service_id}",
        "/api/v1/services/{service_id}/capacity",
        "/api/v1/vocabulary",
        "/api/v1/matches",
        "/api/v1/referrals",
        "/api/v1/referrals/{referral_id}",
        "/api/v1/referrals/{referral_id}/cancel",
        "/api/v1/offers/{offer_id}/accept",
        "/api/v1/offers/{offer_id}/decline",
        "/api/v1/coverage",
        "/api/v1/coverage/gaps",
        "/api/v1/coverage/activity",
        "/api/v1/coverage/map.svg",
    ):
        assert path in paths, path
    operations = [op for item in paths.values() for op in item.values() if isinstance(op, dict)]
    assert all(op.get("operationId") and op.get("summary") for op in operations)
    assert "BearerToken" in doc["components"]["securitySchemes"]


async def test_swagger_ui_loads_nothing_from_the_internet(client: Any) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    for url in urls:
        assert (await client.get(url)).status_code == 200
