"""A new referral: its needs and first offers from an anonymised profile and the services chosen, in one
transaction (on PostgreSQL, one statement after one read of ids: ``_create_pg``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import jsoncol, sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit_sql, event, record
from referralnet.db import write_transaction
from referralnet.dialect import sqlite
from referralnet.dialect.lists import in_ids
from referralnet.errors import Conflict, InvalidInput, one
from referralnet.jsoncol import dumps
from referralnet.matching.cache import DirectoryCache
from referralnet.matching.profile import Profile
from referralnet.matching.services import match_profile, not_eligible_reason, ranked_services
from referralnet.referrals.delivery import after_send
from referralnet.referrals.lifecycle import (
    DEFAULT_MODE,
    NEED_NOT_REQUESTED,
    NEED_START,
    REFERRAL_START,
    move_need,
)
from referralnet.referrals.offers import new_offers_sql, send_offers
from referralnet.referrals.records import offer_out, referral_out, referral_view
from referralnet.referrals.schemas import ReferralCreate, ReferralOut
from referralnet.referrals.services import _readable_row
from referralnet.referrals.settling import settle
from referralnet.settings import Settings
from referralnet.tables import Service
from referralnet.vocabulary.codes import SERVICE_TYPES

CHOICE_LIMIT = 100  # the ranked services a referral's offers are chosen from, and chosen services checked against

_INSERT_REFERRAL = (
    "INSERT INTO referral (created_by, created_by_label, institution, profile, summary, county, urgency, mode, status, consent_at, "
    "notify_email, officer_name, officer_phone, queue, created_at, updated_at) "
    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id"
)
_INSERT_NEED = "INSERT INTO referral_need (referral, position, service_type, priority, status, queue) VALUES ({}, {}, {}, {}, {}, {}) RETURNING id"


def summarise(profile: Profile) -> str:
    """A one-line anonymised summary for messages: codes and counts only, never the note."""
    age = "age unknown (treated as a minor)" if profile.age_band == "unknown" else f"age {profile.age_band}"
    needs = ", ".join(f"{SERVICE_TYPES[n.service_type][1].lower()} ({n.priority})" for n in profile.needs)
    parts = [f"{age}, {profile.gender}, {profile.nationality_group.replace('_', ' ')}"]
    if profile.exploitation_forms:
        parts.append("exploitation: " + ", ".join(str(f).replace("_", " ") for f in profile.exploitation_forms))
    parts.append("needs: " + needs)
    if profile.children:
        parts.append(f"{len(profile.children)} accompanying child(ren)")
    parts.append(f"from {profile.location.county}")
    if profile.security_risk != "low":
        parts.append(f"security risk {profile.security_risk}")
    return "; ".join(parts)


def profile_needs(profile: Profile) -> list[tuple[str, str]]:
    """The person's needs as (service type, priority), one per type (required wins over desired)."""
    out: dict[str, str] = {}
    for need in profile.needs:
        if out.get(need.service_type) != "required":
            out[need.service_type] = need.priority
    return list(out.items())


async def _check_chosen(data: ReferralCreate, eligible: dict[int, str], field: str, cache: DirectoryCache, clock: Any) -> None:
    service_ids = list(data.service_ids or [])
    for i, service_id in enumerate(service_ids):
        if service_id not in eligible:
            exists = await Service.exists().where(Service.id == service_id)
            why = await not_eligible_reason(data.profile, service_id, cache, clock) if exists else "does not exist"
            raise InvalidInput(f"service {service_id} {why}", field=f"{field}[{i}]")
    if len(set(service_ids)) != len(service_ids):
        raise InvalidInput("a service may be asked once per referral", field=field)


async def _choose_services(
    data: ReferralCreate, cache: DirectoryCache, clock: Any, settings: Settings, urgency: str
) -> tuple[dict[str, list[int]], set[str]]:
    """The services to ask per need type (the chosen ones, each eligible now, or each need's top candidates),
    and the types the match found no provider for."""
    ranked = await ranked_services(data.profile, cache, clock, stale_days=settings.capacity_stale_days, limit=CHOICE_LIMIT)
    eligible = dict(ranked)  # service id -> its type
    chosen: dict[str, list[int]] = {}
    if data.service_ids is not None:
        await _check_chosen(data, eligible, "service_ids", cache, clock)
        for service_id in data.service_ids:  # a bundle spans needs: each service goes to the need of its type
            chosen.setdefault(eligible[service_id], []).append(service_id)
        return chosen, set()
    per_need = settings.auto_offers if urgency != "planned" else 5
    needs = profile_needs(data.profile)
    found = {t for t in eligible.values()}
    required = [t for t, p in needs if p == "required" and t in found]
    for service_type in required or [t for t, _ in needs if t in found]:
        chosen[service_type] = [service_id for service_id, t in ranked if t == service_type][:per_need]
    if not chosen:  # the match again, for what excluded every provider
        result = await match_profile(data.profile, cache, clock, stale_days=settings.capacity_stale_days, limit=CHOICE_LIMIT)
        messages = "; ".join(result.excluded.messages) or "no provider fits this profile"
        raise Conflict(f"no provider can be asked: {messages}", field="profile")
    return chosen, {t for t, p in needs if p == "required" and t not in found}


async def create_referral(data: ReferralCreate, actor: Actor, clock: Any, settings: Settings, cache: DirectoryCache) -> ReferralOut:
    if data.consent is not True:
        raise InvalidInput("the person's consent to be referred must be recorded (consent: true)", field="consent")
    urgency = data.urgency or data.profile.urgency
    mode = data.mode or DEFAULT_MODE[urgency]
    chosen, unmet = await _choose_services(data, cache, clock, settings, urgency)
    now = clock.now()
    who = actor.label
    summary = summarise(data.profile)
    reads_it = actor.is_staff or (actor.role == "institution" and actor.organisation_id is not None)  # the creator may read it
    if not sqlite() and not unmet and any(chosen.values()) and reads_it:
        return await _create_pg(data, actor, now, settings, summary, urgency, mode, chosen)
    async with write_transaction():
        rows = await sql.fetch(
            _INSERT_REFERRAL, actor.token_id, who, _institution(actor), dumps(data.profile),
            summary, data.profile.location.county, urgency, mode, REFERRAL_START, now, data.notify_email,
            data.officer_name, data.officer_phone, "[]", now, now,
        )  # fmt: skip
        # What the offers and their messages need of the new row (read back whole for the answer below).
        referral = {"id": rows[0]["id"], "urgency": urgency, "summary": summary, "notify_email": data.notify_email}
        await record(referral["id"], "referral_created", who, now, to_status="open", mode=mode, urgency=urgency)
        position, unplaced = 0, False
        for index, (service_type, priority) in enumerate(profile_needs(data.profile)):
            services = chosen.get(service_type, [])
            first, queue = (services, []) if mode == "parallel" else (services[:1], services[1:])
            asked = bool(services) or service_type in unmet
            status = NEED_START if asked else NEED_NOT_REQUESTED
            made = await sql.fetch(_INSERT_NEED, referral["id"], index, service_type, priority, status, dumps(queue))
            need = {"id": made[0]["id"], "service_type": service_type}
            await send_offers(referral, need, first, position, now, settings, who)
            position += len(first)
            if service_type in unmet and await move_need(need["id"], "unplaced"):
                unplaced = True
                await record(referral["id"], "need_unplaced", who, now, from_status="open", to_status="unplaced", need_id=need["id"],
                             service_type=service_type, reason="no provider fits this need")  # fmt: skip
        if unplaced:  # only an unplaced need moves a new referral on from open
            await settle(referral["id"], now, settings, who)
        # The answer is read (and that read audited) in the same transaction: one commit per referral. Nobody has
        # accepted an offer of it yet, so there is no contact to show (get_referral's contacts_for).
        return await referral_out(await _readable_row(referral["id"], actor, now, "read"), new=True)


def _institution(actor: Actor) -> int | None:
    """The institution a new referral of the actor belongs to (none for the secretariat's)."""
    return actor.organisation_id if actor.role == "institution" else None


# PostgreSQL, before a new referral's statement: its id, its needs' and offers' ids from their sequences, and the asked
# services' providers with their contacts (@owners@: the services' condition, filled per call).
_NEW_IDS = """SELECT nextval(pg_get_serial_sequence('referral', 'id')) AS referral,
    (SELECT array_agg(nextval(pg_get_serial_sequence('referral_need', 'id'))) FROM generate_series(1, {}::int)) AS needs,
    (SELECT array_agg(nextval(pg_get_serial_sequence('offer', 'id'))) FROM generate_series(1, {}::int)) AS offers,
    (SELECT json_agg(json_build_object('service', s.id, 'id', g.id, 'referral_email', g.referral_email, 'webhook_url', g.webhook_url))
        FROM service s JOIN organisation g ON g.id = s.organisation WHERE @owners@) AS owners"""
# The new rows for the answer, as their tables' row types (the same values as a SELECT * of each).
_NEW_ROWS = """ SELECT r.*, (SELECT array_agg(ROW(n.*)::referral_need ORDER BY n.position) FROM n) AS "new.needs",
    (SELECT array_agg(ROW(ev.*)::referral_event ORDER BY ev.id) FROM ev) AS "new.events",
    (SELECT array_agg(ROW(o.*)::offer ORDER BY o.id) FROM o) AS "new.offers",
    (SELECT array_agg(s.name ORDER BY o.id) FROM o LEFT JOIN service s ON s.id = o.service) AS "new.service_names",
    (SELECT array_agg(g.name ORDER BY o.id) FROM o LEFT JOIN organisation g ON g.id = o.organisation) AS "new.organisation_names"
FROM r"""
_INSERT_REFERRAL_PG = _INSERT_REFERRAL.replace("(created_by,", "(id, created_by,").replace("VALUES ({},", "VALUES ({}, {},").removesuffix(
    " RETURNING id"
)


async def _create_pg(
    data: ReferralCreate, actor: Actor, now: dt.datetime, settings: Settings, summary: str, urgency: str, mode: str, chosen: dict[str, list[int]]
) -> ReferralOut:
    """:func:`create_referral` on PostgreSQL, when every asked need has a provider and the creator may read the referral:
    one read takes the new rows' ids and the providers' contacts (:data:`_NEW_IDS`); then one statement writes the
    referral, its needs, offers, events, messages and the audited read, and gives back the rows of the answer. A single
    statement is its own transaction (no BEGIN and COMMIT round trips); when a provider cannot be reached, the
    secretariat's tasks join it in one transaction. The same rows and answer as the other path."""
    who = actor.label
    plan = [(t, p, chosen.get(t, [])) for t, p in profile_needs(data.profile)]
    asked = [s for _, _, services in plan for s in (services if mode == "parallel" else services[:1])]
    owners_sql, owner_args = in_ids("s.id", asked)
    ids = one(await sql.first(_NEW_IDS.replace("@owners@", owners_sql), len(plan), len(asked), *owner_args), "new ids")
    referral_id, need_ids, offer_ids = ids["referral"], sorted(ids["needs"] or []), sorted(ids["offers"] or [])
    owners = {o["service"]: o for o in jsoncol.rows(ids["owners"])}
    referral = {"id": referral_id, "urgency": urgency, "summary": summary, "notify_email": data.notify_email}
    need_values: list[Any] = []
    asks, position = [], 0
    for index, ((service_type, priority, services), need_id) in enumerate(zip(plan, need_ids)):
        first = services if mode == "parallel" else services[:1]
        need_values += [need_id, referral_id, index, service_type, priority, NEED_START if services else NEED_NOT_REQUESTED,
                        dumps([] if mode == "parallel" else services[1:])]  # fmt: skip
        if first:
            asks.append(({"id": need_id, "service_type": service_type}, first, position))
            position += len(first)
    created = event(referral_id, "referral_created", who, now, to_status="open", mode=mode, urgency=urgency)
    ctes, args, unreachable = new_offers_sql(referral, asks, offer_ids, now, settings, who, owners, events_before=[created])
    audited, *audit_args = audit_sql(actor, now, object_type="referral", object_id=referral_id, action="read", outcome="allowed")
    needs_sql = ", ".join(["({}, {}, {}, {}, {}, {}, {})"] * len(plan))
    statement = (
        f"WITH r AS ({_INSERT_REFERRAL_PG} RETURNING *), "
        f"n AS (INSERT INTO referral_need (id, referral, position, service_type, priority, status, queue) VALUES {needs_sql} RETURNING *), "
        f"{', '.join(ctes)}, a AS ({audited}){_NEW_ROWS}"
    )
    values = [
        referral_id, actor.token_id, who, _institution(actor), dumps(data.profile), summary, data.profile.location.county, urgency, mode,
        REFERRAL_START, now, data.notify_email, data.officer_name, data.officer_phone, "[]", now, now, *need_values, *args, *audit_args,
    ]  # fmt: skip
    if unreachable:  # tasks for the secretariat, in the same transaction; they change the offers' delivery: read again
        async with write_transaction():
            row = one(await sql.first(statement, *values), f"referral {referral_id}")
            for offer_id, organisation_id in unreachable:
                await after_send(referral, offer_id, organisation_id, set(), now, settings)
            return await referral_out(_own_columns(row), new=True)
    row = one(await sql.first(statement, *values), f"referral {referral_id}")
    names = zip(row["new.service_names"], row["new.organisation_names"])
    offers = [offer_out({**dict(o), "service.name": s, "organisation.name": g}) for o, (s, g) in zip(row["new.offers"], names)]
    return referral_view(_own_columns(row), offers, [dict(e) for e in row["new.events"]], [dict(n) for n in row["new.needs"]])


def _own_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The referral's own columns of a row that also carries ``new.*`` ones."""
    return {k: v for k, v in row.items() if not k.startswith("new.")}
