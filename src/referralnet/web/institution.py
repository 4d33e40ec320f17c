"""The institution's pages: a need profile, its candidates, sending a referral with consent, the
institution's referrals and each referral's live status. Handlers call the same services as the API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from referralnet.accounts import people
from referralnet.errors import DomainError, InvalidInput, NotFound, PrivacyViolation
from referralnet.matching.profile import Profile
from referralnet.matching.services import match_profile
from referralnet.params import CurrentClock, FromPath
from referralnet.referrals import creation, placement, rounds
from referralnet.referrals import services as referrals
from referralnet.referrals.schemas import AddOffers, ArrivalBody, CancelBody, OutcomeBody, ReferralCreate
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS, OUTCOMES, SERVICE_TYPES
from referralnet.web import forms
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.session import signed_in

# Pages that poll with htmx load its script and make requests to this server only.
LIVE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'",
}
STATUSES = ("open", "partially_placed", "placed", "unplaced", "arrived", "closed", "cancelled")
# Referral, need, offer and delivery states as the pages name them.
STATUS_NAMES = (
    N_("open"), N_("partially placed"), N_("placed"), N_("unplaced"), N_("arrived"), N_("closed"), N_("cancelled"),
    N_("not requested"), N_("pending"), N_("accepted"), N_("declined"), N_("expired"), N_("withdrawn"),
    N_("sent"), N_("delivered"), N_("failed"), N_("phone"),
)
# What each history event says on the timeline (every kind of referrals.events.Event).
EVENT_TEXTS = {
    "referral_created": N_("referral created"), "offer_sent": N_("offer sent"), "offer_reminded": N_("reminder sent"),
    "offer_accepted": N_("offer accepted"), "offer_declined": N_("offer declined"), "offer_expired": N_("offer expired"),
    "offer_withdrawn": N_("offer withdrawn"), "decline_contested": N_("decline contested"), "offers_added": N_("more providers asked"),
    "need_unplaced": N_("no provider left for a need"), "referral_partially_placed": N_("referral partially placed"),
    "referral_placed": N_("referral placed"), "referral_unplaced": N_("referral unplaced"), "referral_reopened": N_("referral reopened"),
    "referral_cancelled": N_("referral cancelled"), "place_released": N_("place released"),
    "arrival_recorded": N_("arrival recorded"), "referral_closed": N_("referral closed"),
}
# The reasons the system itself writes into a referral's history (tests/unit/test_i18n.py keeps this list whole);
# a person's own text (a decline's, a cancellation's) is shown as written.
SYSTEM_REASONS = frozenset({
    N_("a required need has no provider left"), N_("another provider accepted this need"),
    N_("every provider asked for this need declined or did not answer in time"), N_("no provider fits this need"),
    N_("the referral was cancelled"), N_("the referral was closed"), N_("the provider's organisation was deactivated in the directory"),
})  # fmt: skip
POLL_SECONDS = 5
# A second round's refusals as the page words them (the services' own messages are English and name codes).
NO_PROVIDER_LEFT = N_("no other provider can be asked for this need now: those who fit already declined or are already asked")
NEED_CLOSED = N_("this need is no longer open or unplaced; reload the page")
REFERRAL_CLOSED = N_("this referral takes no more offers; reload the page")
NO_SUCH_NEED = N_("this referral has no such need")
NO_ARRIVAL = N_("an arrival can be recorded only once a need is placed and before the referral ends; reload the page")
NO_CLOSING = N_("this referral cannot be closed now; reload the page")
NOTE_TOO_LONG = N_("the note is too long: 500 characters at most")


class NotYours(DomainError):
    """A signed-in person of another role: refused with a page, not a redirect."""

    status_code = 403


def forbidden_page(_: Request[Any, Any, Any], exc: NotYours) -> Template:
    return _page("institution/missing.html", exc.status_code, message=exc.detail)


async def institution_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Signed in as a person of an institution; otherwise to /sign-in, or refused."""
    await signed_in(connection, _)
    actor = connection.scope["user"]
    if actor.role != "institution" or actor.organisation_id is None:
        raise NotYours(N_("these pages are for people of an institution"))


def _page(name: str, code: int = 200, /, *, headers: dict[str, str] | None = None, **context: Any) -> Template:
    """A page with its status code; ``status`` stays free for the template's own use (the list's filter)."""
    return Template(template_name=name, context=context, status_code=code, headers=headers or SECURITY_HEADERS)


def _form_page(values: dict[str, Any], errors: forms.FormErrors | None, status: int = 200) -> Template:
    for field in errors.kinds if errors else {}:
        values = {**values, field: ""}  # text refused by the identifier guard is not rendered again
    return _page("institution/new.html", status, headers=LIVE_HEADERS, values=values, choices=forms.choices(),
                 errors=errors.errors if errors else {}, kinds=errors.kinds if errors else {},
                 localities=forms.localities_of(values.get("county", "")))  # fmt: skip


async def _candidates(request: Request[Any, Any, Any], profile: Profile, clock: Any) -> Any:
    state = request.app.state
    return await match_profile(profile, state.matching_cache, clock, stale_days=state.settings.capacity_stale_days, limit=20)


def _timeline(referral: Any) -> list[tuple[Any, str, str | None, str | None, tuple[str, str] | None]]:
    """The referral's history as (when, what, why, which provider, which need), oldest first: an offer's event names
    its provider and need (from the referral's offers), a need's event its need."""
    offers = {o.id: o for o in referral.offers}
    needs = {n.id: n.service_type for n in referral.needs}
    out = []
    for e in referral.history:
        kind = type(e).__struct_config__.tag
        offer = offers.get(e.offer_id) if e.offer_id is not None else None
        need = e.service_type or (needs.get(offer.need_id) if offer is not None and offer.need_id is not None else None)
        provider = offer.organisation_name if offer is not None else None
        out.append((e.at, EVENT_TEXTS.get(kind, kind.replace("_", " ")), e.reason, provider,
                    NEED_LABELS.get(need, (need, need)) if need and len(referral.needs) > 1 else None))  # fmt: skip
    return out


def shape_of(referral: Any) -> str:
    """What decides the page's forms (arrival, closing, asking more providers): the referral's and its needs' states."""
    return referral.status + ":" + ",".join(n.status + ("+arrived" if n.arrived_at else "") for n in referral.needs)


def _waiting_arrival(referral: Any) -> list[Any]:
    """The placed needs the person has not arrived at yet."""
    return [n for n in referral.needs if n.status == "placed" and n.arrived_at is None]


def _referral_page(name: str, referral: Any, code: int = 200, /, **context: Any) -> Template:
    """The referral page or its live part: needs with their labels in both languages, offers, contacts, timeline."""
    headers = LIVE_HEADERS
    if (shown := context.get("shown")) and shown != shape_of(referral):
        headers = {**LIVE_HEADERS, "HX-Refresh": "true"}  # the page's forms no longer fit: htmx reloads the whole page
    context.setdefault("shown", shape_of(referral))
    return _page(name, code, headers=headers, referral=referral, poll=POLL_SECONDS, timeline=_timeline(referral),
                 system_reasons=SYSTEM_REASONS, need_labels=NEED_LABELS, decline_labels=DECLINE_REASONS, open_needs=rounds.OPEN_NEED,
                 open_referral=rounds.OPEN_REFERRAL, may_arrive=placement.may_record_arrival(referral.status, referral.needs),
                 may_close=placement.parties_may_close(referral.status, referral.needs), not_arrived=bool(_waiting_arrival(referral)),
                 arrival_choices=[(n.service_type, NEED_LABELS.get(n.service_type, (n.service_type,) * 2)) for n in _waiting_arrival(referral)],
                 outcomes=OUTCOMES, **{"errors": {}, "kinds": {}, **context})  # fmt: skip


NEED_LABELS = {code: (en, ro) for code, (_group, en, ro) in SERVICE_TYPES.items()}


def _round_error(exc: DomainError) -> str:
    """A second round's refusal as a catalogue text, so the page shows it in its language."""
    if isinstance(exc, rounds.NoProviderLeft):
        return NO_PROVIDER_LEFT
    if isinstance(exc, InvalidInput) and exc.field == "need":
        return NO_SUCH_NEED
    if exc.field == "need":
        return NEED_CLOSED
    if exc.field == "status":
        return REFERRAL_CLOSED
    return exc.detail


def _not_found() -> Template:
    return _page("institution/missing.html", 404, message=N_("there is no such referral of your institution"))


class InstitutionPages(Controller):
    path = "/institution"
    include_in_schema = False
    guards = [institution_only]

    @get("/", operation_id="institutionHome", include_in_schema=False)
    async def home(self) -> Redirect:
        """The institution's home is its referrals."""
        return Redirect("/institution/referrals", status_code=303)

    @get("/referrals/new", operation_id="newReferralPage", include_in_schema=False)
    async def new(self) -> Template:
        """The need profile as a form of choices."""
        return _form_page(forms.read({}), None)

    @get("/localities", operation_id="localitiesFragment", include_in_schema=False)
    async def localities(self, request: Request[Any, Any, Any]) -> Template:
        """The county's localities as a datalist, for the locality field's type-ahead (htmx)."""
        county = request.query_params.get("county", "")
        return _page("institution/_localities.html", headers=LIVE_HEADERS, localities=forms.localities_of(county))

    @post("/referrals/new", operation_id="matchProfilePage", include_in_schema=False, status_code=200)
    async def match(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """Check the profile and show the ranked candidates with their reasons (nothing is stored)."""
        values = forms.read(_multi(await request.form()))
        try:
            profile = forms.to_profile(values)
            result = await _candidates(request, profile, clock)
        except forms.FormErrors as exc:
            return _form_page(values, exc, 422)
        except InvalidInput as exc:
            return _form_page(values, forms.field_errors(exc), 422)
        return self._candidates_page(profile, result)

    @staticmethod
    def _candidates_page(profile: Profile, result: Any, status: int = 200, **context: Any) -> Template:
        relax = [] if result.candidates else forms.relaxations(profile, result.excluded.by_constraint)
        return _page("institution/candidates.html", status, profile=profile, profile_json=msgspec.json.encode(profile).decode(),
                     result=result, choices=forms.choices(), relaxations=relax, **context)  # fmt: skip

    @post("/referrals", operation_id="sendReferralPage", include_in_schema=False, status_code=303)
    async def send(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template | Redirect:
        """Send the referral to the chosen services, with the person's consent recorded."""
        form = _multi(await request.form())
        try:
            profile = msgspec.json.decode((form.get("profile") or ["{}"])[0], type=Profile)
        except msgspec.ValidationError:
            return _form_page(forms.read({}), forms.FormErrors({"form": N_("the profile was altered; fill it in again")}), 422)
        chosen = [int(v) for v in form.get("service_ids", []) if v.isdigit()]
        mode = (form.get("mode") or [""])[0] or None
        consent = (form.get("consent") or [""])[0] == "yes"
        errors = {}
        if not chosen:
            errors["service_ids"] = N_("choose at least one service to ask")
        if not consent:
            errors["consent"] = N_("confirm that the person agreed to be referred")
        if mode not in (None, "parallel", "cascade"):
            errors["mode"] = forms.CHOOSE_ONE
        if not errors:
            try:
                # The signed-in person is the referring officer: the provider that accepts sees their name and e-mail.
                officer = await people.work_contact(request.user.person_id) if request.user.person_id is not None else None
                data = ReferralCreate(profile=profile, consent=True, mode=mode, service_ids=chosen,  # type: ignore[arg-type]
                                      officer_name=officer[0] if officer else None, notify_email=officer[1] if officer else None)  # fmt: skip
                referral = await creation.create_referral(data, request.user, clock, request.app.state.settings, request.app.state.matching_cache)
                return Redirect(f"/institution/referrals/{referral.id}", status_code=303, headers=SECURITY_HEADERS)
            except DomainError as exc:
                errors["service_ids" if (exc.field or "").startswith("service_ids") else "form"] = exc.detail
        result = await _candidates(request, profile, clock)
        return self._candidates_page(profile, result, 422, errors=errors, chosen=chosen, mode=mode, consent=consent)

    @get("/referrals", operation_id="institutionReferralsPage", include_in_schema=False)
    async def listing(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """The institution's referrals, newest first, filtered by status."""
        status = request.query_params.get("status") or None
        status = status if status in STATUSES else None
        found = await referrals.list_referrals(request.user, clock.now(), status=status, limit=100, offset=0)
        return _page("institution/referrals.html", referrals=found, status=status, statuses=STATUSES, need_labels=NEED_LABELS)

    @get("/referrals/{referral_id:int}", operation_id="institutionReferralPage", include_in_schema=False)
    async def detail(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template:
        """One referral: status per need, offers, timeline; the status part refreshes itself."""
        return await self._shown(request, referral_id, clock, "institution/referral.html")

    @post("/referrals/{referral_id:int}/cancel", operation_id="cancelReferralPage", include_in_schema=False, status_code=303)
    async def cancel(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Cancel the referral: pending offers are withdrawn and a reserved place is released."""
        try:
            await referrals.cancel_referral(referral_id, CancelBody(), request.user, clock)
        except NotFound:
            return _not_found()
        except DomainError as exc:
            referral = await referrals.get_referral(referral_id, request.user, clock.now())
            return _referral_page("institution/referral.html", referral, exc.status_code, error=exc.detail)
        return Redirect(f"/institution/referrals/{referral_id}", status_code=303, headers=SECURITY_HEADERS)

    @get("/referrals/{referral_id:int}/live", operation_id="institutionReferralLive", include_in_schema=False)
    async def live(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template:
        """The referral's status part alone, for htmx polling; when the states the page was drawn for moved (``shown``),
        htmx is told to reload the page, whose forms follow them."""
        shown = request.query_params.get("shown", "")
        return await self._shown(request, referral_id, clock, "institution/_live.html", shown=shown[:500])

    async def _shown(self, request: Request[Any, Any, Any], referral_id: int, clock: Any, name: str, **context: Any) -> Template:
        """The referral in the page ``name``, or the not-found page (another institution's referral too)."""
        try:
            referral = await referrals.get_referral(referral_id, request.user, clock.now())
        except NotFound:
            return _not_found()
        return _referral_page(name, referral, **context)

    @post("/referrals/{referral_id:int}/round", operation_id="secondRoundPage", include_in_schema=False, status_code=303)
    async def second_round(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """A second round for one open or unplaced need: a fresh match asks more providers, never those who declined."""
        need = str((await request.form()).get("need") or "")
        state = request.app.state
        try:
            body = msgspec.convert({"need": need}, AddOffers)
        except msgspec.ValidationError:
            body = None
        try:
            if body is None:
                raise InvalidInput(f"unknown need {need!r}", field="need")
            await rounds.add_offers(referral_id, body, request.user, clock, state.settings, state.matching_cache)
        except NotFound:
            return _not_found()
        except DomainError as exc:
            referral = await referrals.get_referral(referral_id, request.user, clock.now())
            message = _round_error(exc)
            # Beside the need's button while the page still shows it; otherwise at the top of the page.
            beside = referral.status in rounds.OPEN_REFERRAL and any(n.service_type == need and n.status in rounds.OPEN_NEED for n in referral.needs)
            where = {"round_need": need, "round_error": message} if beside else {"error": message}
            return _referral_page("institution/referral.html", referral, exc.status_code, **where)
        return Redirect(f"/institution/referrals/{referral_id}#referral-need-{need}", status_code=303, headers=SECURITY_HEADERS)

    @post("/referrals/{referral_id:int}/arrival", operation_id="recordArrivalPage", include_in_schema=False, status_code=303)
    async def arrival(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Record that the person arrived at the provider; the optional note is refused if it holds an identifier."""
        form = await request.form()
        note = str(form.get("note") or "").strip() or None
        try:
            body = msgspec.convert({"note": note, "need": str(form.get("need") or "") or None}, ArrivalBody)
        except msgspec.ValidationError as exc:
            if "need" in str(exc):
                return await _refused(request, referral_id, clock, 422, error=NO_ARRIVAL)
            return await _refused(request, referral_id, clock, 422, errors={"arrival-note": NOTE_TOO_LONG})
        try:
            await placement.record_arrival(referral_id, request.user, clock, body.note, body.need)
        except NotFound:
            return _not_found()
        except PrivacyViolation as exc:
            return await _refused(request, referral_id, clock, 422, errors={"arrival-note": forms.field_errors(exc).errors["note"]},
                                  kinds={"arrival-note": exc.kind})  # fmt: skip
        except DomainError as exc:
            return await _refused(request, referral_id, clock, exc.status_code, error=NO_ARRIVAL)
        return Redirect(f"/institution/referrals/{referral_id}", status_code=303, headers=SECURITY_HEADERS)

    @post("/referrals/{referral_id:int}/close", operation_id="closeReferralPage", include_in_schema=False, status_code=303)
    async def close(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Close the referral with its outcome; before arrival this releases the reserved place."""
        try:
            body = msgspec.convert({"outcome": str((await request.form()).get("outcome") or "")}, OutcomeBody)
        except msgspec.ValidationError:
            return await _refused(request, referral_id, clock, 422, errors={"outcome": forms.CHOOSE_ONE})
        try:
            await placement.close_referral(referral_id, body, request.user, clock)
        except NotFound:
            return _not_found()
        except DomainError as exc:
            return await _refused(request, referral_id, clock, exc.status_code, error=NO_CLOSING)
        return Redirect(f"/institution/referrals/{referral_id}", status_code=303, headers=SECURITY_HEADERS)


async def _refused(request: Request[Any, Any, Any], referral_id: int, clock: Any, code: int, **context: Any) -> Template:
    """The referral page again with a refusal beside its field or at the top (another institution's: not found)."""
    try:
        referral = await referrals.get_referral(referral_id, request.user, clock.now())
    except NotFound:
        return _not_found()
    return _referral_page("institution/referral.html", referral, code, **context)


def _multi(form: Any) -> dict[str, list[str]]:
    """A posted form as lists of strings per name (checkbox groups post a name several times)."""
    return {key: [str(v) for v in form.getall(key)] for key in form.keys()}

