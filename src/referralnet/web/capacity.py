"""The capacity reminder's page: one signed link, "still correct" or "set free places", answered once.

GET shows the service's current figures and changes nothing (mail scanners open links). POST records
the answer through :func:`referralnet.directory.places.set_figures`, like ``PUT /capacity``, as
``link:<organisation>``. A link works until a newer figure is recorded or it expires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Template

from referralnet.accounts.schemas import Actor
from referralnet.db import write_transaction
from referralnet.directory import places
from referralnet.directory.schemas import CapacityUpdate
from referralnet.errors import BadLink, Conflict, DomainError, InvalidInput
from referralnet.notifications import signing
from referralnet.params import CurrentClock, FromPath
from referralnet.tables import Service
from referralnet.texts import N_
from referralnet.vocabulary.codes import CAPACITY_UNITS
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.services import link_key

LINK_DAYS = 14  # how long a reminder's link works
USED = N_("A newer capacity figure has been recorded since this reminder, so this link no longer changes anything.")
CANNOT_USE = N_("This link cannot be used")
STILL_CORRECT = N_("Is this still correct? %(service)s")
NO_FIGURE_YET = N_("Not saved: no figure is recorded yet; give the number of free places.")
NOT_WHOLE = N_("Not saved: give the number of free places as a whole number (0 when full).")


def capacity_url(base_url: str, key: str, service_id: int, issued: dt.datetime) -> str:
    """The page a capacity reminder links to."""
    token = signing.make_capacity_token(key, service_id, issued, issued + dt.timedelta(days=LINK_DAYS))
    return f"{base_url.rstrip('/')}/respond/capacity/{token}"


class CapacityView(msgspec.Struct, frozen=True, kw_only=True):
    service_id: int
    service_name: str
    organisation_id: int
    organisation_name: str
    unit: str
    available: int | None
    total: int | None
    updated_at: dt.datetime | None
    issued: dt.datetime

    @property
    def used(self) -> bool:
        return self.updated_at is not None and self.updated_at >= self.issued


async def open_capacity_link(key: str, token: str, now: dt.datetime) -> CapacityView:
    link = signing.read_capacity_token(key, token, now)
    row = await Service.select(
        Service.id, Service.name, Service.organisation, Service.organisation.name, Service.capacity_unit,
        Service.capacity_available, Service.capacity_total, Service.capacity_updated_at, Service.active,
    ).where(Service.id == link.service_id).first()  # fmt: skip
    if row is None or not row["active"]:
        raise BadLink("this link is not valid: the service no longer exists or is inactive")
    return CapacityView(
        service_id=row["id"], service_name=row["name"], organisation_id=row["organisation"],
        organisation_name=row["organisation.name"], unit=row["capacity_unit"] or "places",
        available=row["capacity_available"], total=row["capacity_total"], updated_at=row["capacity_updated_at"],
        issued=link.issued,
    )  # fmt: skip


def read_form(view: CapacityView, form: dict[str, str]) -> CapacityUpdate:
    """The form as the API's body: "still correct" repeats the current figures; "set" takes a whole number."""
    if form.get("answer") == "confirm":
        if view.available is None:
            raise InvalidInput(NO_FIGURE_YET, field="available")
        return CapacityUpdate(available=view.available)
    raw = (form.get("available") or "").strip()
    if not raw.isdigit():
        raise InvalidInput(NOT_WHOLE, field="available")
    return CapacityUpdate(available=int(raw))


async def answer(view: CapacityView, update: CapacityUpdate, now: dt.datetime) -> None:
    """Record the figure once: the claim is a conditional update that only a link older than every figure wins."""
    actor = Actor(token_id=None, name=view.organisation_name, role="ngo", organisation_id=view.organisation_id, via="link")
    async with write_transaction():
        claimed = await Service.update({Service.capacity_reminded_at: now}).where(
            Service.id == view.service_id,
            Service.capacity_updated_at.is_null() | (Service.capacity_updated_at < view.issued),
        ).returning(Service.id)
        if not claimed:
            raise Conflict(USED, field="capacity")
        await places.set_figures(view.service_id, update, actor, now, want_row=False)


def _page(status: int, heading: str, view: CapacityView | None = None, *, message: tuple[str, dict[str, Any]] | None = None,
          **context: Any) -> Template:
    """``heading`` and ``message`` (a text and its values) are catalogue texts, in the page's language; a domain
    error's own detail is passed as the value ``detail`` and shown as raised."""
    return Template(
        template_name="capacity.html",
        context={"heading": heading, "service": view.service_name if view else "", "view": view, "can_act": False,
                 "message": message, "tone": "", "units": CAPACITY_UNITS, **context},
        status_code=status,
        headers=SECURITY_HEADERS,
    )  # fmt: skip


# The link's refusals (``signing.read_capacity_token``, :func:`open_capacity_link`) as the page words them.
LINK_ERRORS = {
    "this link is not valid": N_("This link is not valid."),
    "this link has expired; update the capacity in referralnet or wait for the next reminder":
        N_("This link has expired; update the capacity in referralnet or wait for the next reminder."),
    "this link is not valid: the service no longer exists or is inactive": N_("This link is not valid: the service no longer exists or is inactive."),
}  # fmt: skip
OVER_TOTAL = N_("Not saved: the free places cannot be more than the total (%(total)s).")


def _link_error(exc: DomainError) -> tuple[str, dict[str, Any]]:
    """A refused link's message: a catalogue text, or the refusal's own words as a value (never a format string)."""
    known = LINK_ERRORS.get(exc.detail)
    return (known, {}) if known else ("%(detail)s", {"detail": exc.detail[:1].upper() + exc.detail[1:].rstrip(".") + "."})


def _not_saved(exc: InvalidInput, view: CapacityView) -> tuple[str, dict[str, Any]]:
    """An answer refused: the form's own texts, the figure above the total, or the refusal's words as a value."""
    if exc.detail in (NO_FIGURE_YET, NOT_WHOLE):
        return exc.detail, {}
    if exc.detail.startswith("available (") and "must not exceed total" in exc.detail:
        return OVER_TOTAL, {"total": view.total}
    return N_("Not saved: %(detail)s."), {"detail": exc.detail}


class CapacityLinkController(Controller):
    path = "/respond/capacity"
    include_in_schema = False

    @get("/{token:str}", operation_id="showCapacityLink", include_in_schema=False)
    async def show(self, request: Request[Any, Any, Any], token: FromPath[str], clock: CurrentClock) -> Template:
        """The capacity reminder's page: current figures and the two answers; it changes nothing."""
        try:
            view = await open_capacity_link(await link_key(request.app.state), token, clock.now())
        except DomainError as exc:
            return _page(exc.status_code, CANNOT_USE, message=_link_error(exc), tone="error")
        if view.used:
            return _page(409, N_("Already up to date"), view, message=(USED, {}), tone="error")
        return _page(200, STILL_CORRECT, view, can_act=True, action_url=token)

    @post("/{token:str}", operation_id="answerCapacityLink", include_in_schema=False, status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], token: FromPath[str], clock: CurrentClock) -> Template:
        """Record "still correct" or the new number of free places, once."""
        now = clock.now()
        try:
            view = await open_capacity_link(await link_key(request.app.state), token, now)
        except DomainError as exc:
            return _page(exc.status_code, CANNOT_USE, message=_link_error(exc), tone="error")
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            update = read_form(view, form)
            await answer(view, update, now)
        except InvalidInput as exc:
            return _page(exc.status_code, STILL_CORRECT, view, can_act=not view.used, action_url=token,
                         message=_not_saved(exc, view), tone="error")  # fmt: skip
        except DomainError as exc:
            values = {"detail": exc.detail, "catalogued": exc.detail == USED}  # USED: the one conflict the page words itself
            return _page(exc.status_code, N_("Not saved"), view, message=(N_("%(detail)s Nothing was changed."), values), tone="error")
        done = await open_capacity_link(await link_key(request.app.state), token, now)
        message = N_("Thank you: %(available)s free %(unit)s recorded for %(service)s.")
        return _page(200, N_("Capacity recorded"), done, message=(message, {"available": done.available, "service": done.service_name}), tone="ok")
