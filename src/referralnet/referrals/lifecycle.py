"""The referral and offer state machines: every allowed transition, and every status write.

A status changes only through :func:`move_referral`, :func:`move_need` and :func:`move_offers`: each is one conditional
``UPDATE ... WHERE status IN (<states that may reach the target>) ... RETURNING``, built from the
tables below, so two requests or two workers never make the same move twice. The statement is written
as text and run through :mod:`referralnet.sql` (Piccolo's query building cost more than the update).
``tests/unit/test_source_owners.py`` fails if another module writes a referral's or an offer's status.
Deadlines come from the settings (:meth:`referralnet.settings.Settings.deadline`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from piccolo.columns import Column
from piccolo.columns.combination import Undefined, Where
from piccolo.querystring import QueryString

from referralnet import sql
from referralnet.errors import Conflict
from referralnet.tables import Offer, Referral, ReferralNeed

ReferralStatus = Literal["open", "partially_placed", "placed", "arrived", "closed", "unplaced", "cancelled"]
# not_requested: a need of the profile nobody was asked for yet (an offer added later opens it).
NeedStatus = Literal["not_requested", "open", "placed", "unplaced", "cancelled"]
OfferStatus = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
Mode = Literal["parallel", "cascade"]

REFERRAL_START: ReferralStatus = "open"
NEED_START: NeedStatus = "open"
NEED_NOT_REQUESTED: NeedStatus = "not_requested"
# A referral whose offers may still be answered (a desired need can be placed after the required ones).
LIVE_REFERRAL = frozenset({"open", "partially_placed", "placed", "arrived", "unplaced"})
OFFER_START: OfferStatus = "pending"

REFERRAL_TRANSITIONS: dict[str, frozenset[str]] = {
    # The person may arrive at a desired need's provider while the required ones are still open.
    "open": frozenset({"partially_placed", "placed", "unplaced", "arrived", "cancelled", "closed"}),
    # Some required needs placed, others still open. The person may go to a placed service meanwhile (arrived:
    # the first arrival at any placed need; each need keeps its own arrival time).
    "partially_placed": frozenset({"placed", "unplaced", "arrived", "cancelled", "closed"}),
    # Cancelling or closing before arrival releases the reserved places.
    "placed": frozenset({"arrived", "cancelled", "closed"}),
    "arrived": frozenset({"closed"}),
    # A second round (offers added for the unplaced need) reopens it; with another need placed, the person may go there.
    "unplaced": frozenset({"open", "partially_placed", "arrived", "cancelled", "closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}

NEED_TRANSITIONS: dict[str, frozenset[str]] = {
    "not_requested": frozenset({"open", "cancelled"}),
    "open": frozenset({"placed", "unplaced", "cancelled"}),
    "unplaced": frozenset({"open", "cancelled"}),
    "placed": frozenset(),
    "cancelled": frozenset(),
}

OFFER_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"accepted", "declined", "expired", "withdrawn"}),
    "accepted": frozenset(),
    "declined": frozenset(),
    "expired": frozenset(),
    "withdrawn": frozenset(),
}

Outcome = Literal["services_started", "person_left", "transferred", "completed", "other"]

# By default an emergency asks several providers at once; planned cases ask one at a time.
DEFAULT_MODE: dict[str, Mode] = {"emergency": "parallel", "urgent": "parallel", "planned": "cascade"}


def check_referral_transition(current: str, target: str) -> None:
    if target not in REFERRAL_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a referral that is {current} cannot become {target}", field="status")


def _sources(transitions: dict[str, frozenset[str]], target: str) -> list[str]:
    return sorted(s for s, targets in transitions.items() if target in targets)


def _condition(where: Any) -> tuple[str, list[Any]]:
    """A Piccolo comparison of a column of the updated table with a value (``Offer.id == 3``, ``Offer.deadline > now``)
    as SQL text and its argument."""
    if not isinstance(where, Where) or where.column._meta.call_chain or not isinstance(where.values, Undefined):
        raise TypeError(f"only a column compared with a value is supported here, not {where!r}")
    if isinstance(where.value, (Column, QueryString)):
        raise TypeError(f"only a column compared with a value is supported here, not {where!r}")
    text = where.operator.template.format(name=where.column._meta.db_column_name, value="{}")
    return text, ([] if isinstance(where.value, Undefined) else [where.value])


def _update_sql(
    table: str, values: dict[Any, Any], where: tuple[Any, ...], sources: list[str], returning: tuple[Any, ...], extra: str = ""
) -> tuple[str, list[Any]]:
    """``UPDATE table SET values WHERE status IN sources AND where [AND extra] RETURNING returning`` as text and its arguments."""
    sets = ", ".join(f"{column._meta.db_column_name} = {{}}" for column in values)
    conditions, args = [f"status IN ({', '.join(repr(s) for s in sources)})"], list(values.values())
    for w in where:
        text, arg = _condition(w)
        conditions.append(text)
        args += arg
    if extra:
        conditions.append(extra)
    names = ", ".join(column._meta.db_column_name for column in returning)
    return f"UPDATE {table} SET {sets} WHERE {' AND '.join(conditions)} RETURNING {names}", args


async def move_referral(
    referral_id: int, target: ReferralStatus, now: dt.datetime, *, current: str | None = None, values: dict[Any, Any] | None = None
) -> bool:
    """Move a referral to ``target`` if its state allows it (and is still ``current``, when given); sets ``updated_at``."""
    move = move_referral_sql(referral_id, target, now, current=current, values=values)
    return move is not None and bool(await sql.fetch(move[0], *move[1]))


async def move_offers(
    target: OfferStatus, now: dt.datetime, *where: Any, values: dict[Any, Any] | None = None, returning: tuple[Any, ...] = (Offer.id,)
) -> list[dict[str, Any]]:
    """Move the offers matching ``where`` (columns of ``offer`` compared with values) that may reach ``target``; sets
    ``responded_at``. Returns the rows moved."""
    text, args = move_offers_sql(target, now, *where, values=values, returning=returning)
    return await sql.fetch(text, *args)


def move_offers_sql(
    target: OfferStatus, now: dt.datetime, *where: Any, values: dict[Any, Any] | None = None, returning: tuple[Any, ...] = (Offer.id,),
    extra: str = "",
) -> tuple[str, list[Any]]:
    """:func:`move_offers`'s statement (with ``extra``, an SQL condition, e.g. on an earlier CTE) and its arguments, to run
    as a CTE of a larger PostgreSQL statement."""
    values = {Offer.status: target, Offer.responded_at: now, **(values or {})}
    return _update_sql("offer", values, where, _sources(OFFER_TRANSITIONS, target), returning, extra)


def move_need_sql(need_id: int, target: NeedStatus, *, values: dict[Any, Any] | None = None, extra: str = "") -> tuple[str, list[Any]]:
    """:func:`move_need`'s statement (with ``extra``), as :func:`move_offers_sql`."""
    values = {ReferralNeed.status: target, **(values or {})}
    return _update_sql("referral_need", values, (ReferralNeed.id == need_id,), _sources(NEED_TRANSITIONS, target), (ReferralNeed.id,), extra)


def move_referral_sql(
    referral_id: int, target: ReferralStatus, now: dt.datetime, *, current: str | None = None, values: dict[Any, Any] | None = None
) -> tuple[str, list[Any]] | None:
    """:func:`move_referral`'s statement (from ``current`` only, when given; ``None`` if the move is not allowed), as
    :func:`move_offers_sql`."""
    sources = _sources(REFERRAL_TRANSITIONS, target)
    if current is not None:
        sources = [current] if current in sources else []
    if not sources:
        return None
    values = {Referral.status: target, Referral.updated_at: now, **(values or {})}
    return _update_sql("referral", values, (Referral.id == referral_id,), sources, (Referral.id,))


async def move_need(need_id: int, target: NeedStatus, *, values: dict[Any, Any] | None = None) -> bool:
    """Move one need of a referral to ``target`` if its state allows it."""
    text, args = move_need_sql(need_id, target, values=values)
    return bool(await sql.fetch(text, *args))


def referral_state(needs: list[dict[str, Any]]) -> ReferralStatus:
    """The state a referral's needs give it: its requested required needs decide (all its requested needs when
    none is required); any unplaced: ``unplaced``; all placed: ``placed``; some: ``partially_placed``."""
    asked = [n for n in needs if n["status"] not in ("not_requested", "cancelled")]
    deciding = [n for n in asked if n["priority"] == "required"] or asked
    states = {n["status"] for n in deciding}
    if "unplaced" in states:
        return "unplaced"
    if deciding and states == {"placed"}:
        return "placed"
    return "partially_placed" if "placed" in states else "open"
