"""A referral and its offers as a FHIR R4 Bundle, after the Gravity Project SDOH Clinical Care guide.

One ``ServiceRequest`` per need (coded with the app's service-type CodeSystem), a referral-level
``Task`` and one ``Task`` per offer. The subject is an anonymous ``Patient`` without name, identifier,
birth date or address: the profile never leaves as identity. The status tables are the contract
documented in the README (Interoperability).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from referralnet.interop.taxonomy import NAMESPACE
from referralnet.referrals.schemas import OfferOut, ReferralOut
from referralnet.vocabulary import codes

# Referral state -> (referral Task.status, ServiceRequest.status). ``partially_placed`` comes with issue 12.
REFERRAL_STATUS: dict[str, tuple[str, str]] = {
    "open": ("requested", "active"),
    "partially_placed": ("accepted", "active"),
    "placed": ("accepted", "active"),
    "arrived": ("in-progress", "active"),
    "closed": ("completed", "completed"),
    "unplaced": ("failed", "revoked"),
    "cancelled": ("cancelled", "revoked"),
}
# Offer state -> Task.status; a pending offer its provider has read is ``received``.
OFFER_STATUS: dict[str, str] = {
    "pending": "requested",
    "accepted": "accepted",
    "declined": "rejected",
    "expired": "failed",
    "withdrawn": "cancelled",
}
# An accepted offer follows its referral once the person arrives or the referral ends.
ACCEPTED_AFTER: dict[str, str] = {"arrived": "in-progress", "closed": "completed", "cancelled": "cancelled"}
PRIORITY = {"emergency": "stat", "urgent": "urgent", "planned": "routine"}
DECLINE_REASONS = {code: en for code, (en, _) in codes.DECLINE_REASONS.items()}
OUTCOMES = {
    "services_started": "Services started",
    "person_left": "Person left",
    "transferred": "Transferred",
    "completed": "Completed",
    "other": "Other outcome",
}
TASK_CODES = "http://hl7.org/fhir/CodeSystem/task-code"


def code_system_url(base_url: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/vocabulary/fhir/CodeSystem/{name}"


def code_systems() -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """The CodeSystems the app publishes: name -> (title, {code: (English, Romanian)})."""
    return {
        "service-type": ("referralnet service types", {c: (en, ro) for c, (_, en, ro) in codes.SERVICE_TYPES.items()}),
        "decline-reason": ("referralnet reasons for declining an offer", dict(codes.DECLINE_REASONS)),
        "outcome": ("referralnet referral outcomes", {k: (v, v) for k, v in OUTCOMES.items()}),
        "referral-status": ("referralnet referral and offer states", {s: (s, s) for s in [*REFERRAL_STATUS, *OFFER_STATUS]}),
    }


def code_system(base_url: str, name: str) -> dict[str, Any]:
    title, concepts = code_systems()[name]
    return {
        "resourceType": "CodeSystem",
        "id": f"referralnet-{name}",
        "url": code_system_url(base_url, name),
        "name": "Referralnet" + "".join(p.title() for p in name.split("-")),
        "title": title,
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [
            {"code": code, "display": en, "designation": [{"language": "ro", "value": ro}]} for code, (en, ro) in concepts.items()
        ],
    }


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, ':'.join(str(p) for p in parts))}"


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _coding(base_url: str, system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": code_system_url(base_url, system), "code": code}
    if display:
        out["display"] = display
    return {"coding": [out], "text": display or code}


def offer_task_status(offer: OfferOut, referral_status: str, arrived: frozenset[int] | set[int] = frozenset()) -> str:
    """An offer's Task status; an accepted one is in progress once the person arrived at its need (``arrived``: such
    offers' ids), then follows the referral's end: completed if the person came, cancelled if the referral ended first."""
    if offer.status == "pending":
        return "received" if offer.seen_at is not None else "requested"
    if offer.status == "accepted":
        if referral_status in ("arrived", "closed") and offer.id not in arrived:
            return "accepted" if referral_status == "arrived" else "cancelled"
        return ACCEPTED_AFTER.get(referral_status, "accepted")
    return OFFER_STATUS[offer.status]


def bundle(referral: ReferralOut, service_types: dict[int, str], base_url: str) -> dict[str, Any]:
    """The referral as a FHIR R4 ``collection`` Bundle (pure)."""
    key = f"referral:{referral.id}"
    patient_ref = _urn(key, "patient")
    needs = [n.service_type for n in referral.profile.needs]
    requests = {need: _urn(key, "service_request", need) for need in needs}
    task_status, request_status = REFERRAL_STATUS[referral.status]
    arrived = {n.placed_offer_id for n in referral.needs if n.arrived_at is not None and n.placed_offer_id is not None}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": patient_ref,
            "resource": {
                "resourceType": "Patient",
                "meta": {"tag": [{"system": code_system_url(base_url, "referral-status"), "code": "anonymous",
                                  "display": "Anonymous subject: no identity is held"}]},
            },
        }
    ]
    for need in referral.profile.needs:
        label = codes.SERVICE_TYPES[need.service_type][1]
        entries.append(
            {
                "fullUrl": requests[need.service_type],
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": request_status,
                    "intent": "order",
                    "priority": PRIORITY[referral.urgency],
                    "code": _coding(base_url, "service-type", need.service_type, label),
                    "subject": {"reference": patient_ref},
                    "authoredOn": _instant(referral.created_at),
                    "identifier": [{"system": f"{base_url.rstrip('/')}/api/v1/referrals", "value": str(referral.id)}],
                    "note": [{"text": f"{need.priority} need; anonymised summary: {referral.summary}"}],
                },
            }
        )
    referral_task: dict[str, Any] = {
        "resourceType": "Task",
        "status": task_status,
        "businessStatus": _coding(base_url, "referral-status", referral.status),
        "intent": "order",
        "priority": PRIORITY[referral.urgency],
        "code": {"coding": [{"system": TASK_CODES, "code": "fulfill"}]},
        "focus": {"reference": requests[needs[0]]},
        "basedOn": [{"reference": ref} for ref in requests.values()],
        "for": {"reference": patient_ref},
        "authoredOn": _instant(referral.created_at),
        "lastModified": _instant(referral.updated_at),
    }
    if referral.status == "closed" and referral.outcome:
        referral_task["output"] = [
            {"type": {"text": "outcome"}, "valueCodeableConcept": _coding(base_url, "outcome", referral.outcome, OUTCOMES.get(referral.outcome))}
        ]
    task_ref = _urn(key, "task")
    entries.append({"fullUrl": task_ref, "resource": referral_task})
    for offer in referral.offers:
        service_type = service_types.get(offer.service_id)
        focus = requests.get(service_type or "", requests[needs[0]])
        task: dict[str, Any] = {
            "resourceType": "Task",
            "status": offer_task_status(offer, referral.status, arrived),
            "businessStatus": _coding(base_url, "referral-status", offer.status),
            "intent": "order",
            "priority": PRIORITY[referral.urgency],
            "code": {"coding": [{"system": TASK_CODES, "code": "fulfill"}]},
            "partOf": [{"reference": task_ref}],
            "focus": {"reference": focus},
            "for": {"reference": patient_ref},
            "owner": {"display": offer.organisation_name},
            "authoredOn": _instant(offer.sent_at),
            "lastModified": _instant(offer.responded_at or offer.seen_at or offer.sent_at),
            "restriction": {"period": {"end": _instant(offer.deadline)}},
            "description": offer.service_name,
        }
        if offer.status == "declined" and offer.decline_reason:
            task["statusReason"] = _coding(base_url, "decline-reason", offer.decline_reason, DECLINE_REASONS.get(offer.decline_reason))
        if task["status"] == "completed" and referral.outcome:
            task["output"] = referral_task.get("output", [])
        entries.append({"fullUrl": _urn(key, "offer", offer.id), "resource": task})
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _instant(referral.updated_at), "entry": entries}
