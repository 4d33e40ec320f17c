"""The NGO's organisation pages: its profile (contact, services with eligibility, area and sites, webhook
and the e-mail offers go to), one service, and its people (the organisation's administrator invites and
deactivates colleagues). Changes go through the directory's and the notifications' API services."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from referralnet.accounts import colleagues
from referralnet.directory import capacity
from referralnet.directory.listing import list_services
from referralnet.directory.schemas import OrganisationUpdate
from referralnet.directory.services import get_organisation, get_service, update_organisation
from referralnet.errors import DomainError, NotFound
from referralnet.notifications.services import rotate_webhook_secret
from referralnet.params import CurrentClock, FromPath
from referralnet.texts import N_
from referralnet.vocabulary.codes import CAPACITY_UNITS, SERVICE_TYPES
from referralnet.web import i18n, ngo_views
from referralnet.web.forms import FieldsRefused, refused_fields
from referralnet.web.institution import _page
from referralnet.web.ngo import ngo_only

CONTACT_FIELDS = ("referral_email", "referral_phone", "phone_24h", "website", "webhook_url")
# Each contact field's refusal as the page words it (the API's own messages are English and name patterns).
FIELD_ERRORS = {
    "referral_email": N_("give an e-mail address such as oferte@asociatia.ro"),
    "referral_phone": N_("give a phone number: digits, spaces and + ( ) . / - only"),
    "phone_24h": N_("give a phone number: digits, spaces and + ( ) . / - only"),
    "website": N_("give an address starting with https:// or http://"),
    "webhook_url": N_("this webhook address cannot be used: it must start with https:// and reach a public server"),
}
NO_SUCH_SERVICE = N_("there is no such service of your organisation")
NO_SUCH_PERSON = N_("there is no such person in your organisation")
INVITE_ERRORS = {"email": N_("give the colleague's work e-mail address"), "name": N_("give the colleague's name")}
EMAIL_TAKEN = N_("a person with this e-mail address already has an account")
SERVICE_LABELS = {code: (en, ro) for code, (_group, en, ro) in SERVICE_TYPES.items()}


def _gettext(request: Request[Any, Any, Any]) -> Any:
    return i18n.translations(i18n.locale_of(request)).gettext


def _form(raw: Any) -> dict[str, str]:
    return {key: str(value).strip() for key, value in raw.items()}


def contact_update(form: dict[str, str]) -> OrganisationUpdate:
    """The contact form as the API's PATCH body: an empty field clears it. Raises InvalidInput naming the field."""
    body = {name: form.get(name) or None for name in CONTACT_FIELDS}
    try:
        return msgspec.convert(body, OrganisationUpdate)
    except msgspec.ValidationError:
        raise refused_fields(body, OrganisationUpdate, FIELD_ERRORS, FIELD_ERRORS["referral_email"]) from None


async def organisation_page(request: Request[Any, Any, Any], code: int = 200, **context: Any) -> Template:
    actor = request.scope["user"]
    org = await get_organisation(actor.organisation_id)
    found = await list_services(actor, type=None, county=None, exploitation_form=None, has_capacity=None,
                                organisation_id=actor.organisation_id, limit=500, offset=0)  # fmt: skip
    lang, gettext = i18n.locale_of(request), _gettext(request)
    services = [(s, ngo_views.eligibility_lines(s.eligibility, lang, gettext), ngo_views.area_text(s.service_area, gettext)) for s in found.items]
    values = context.pop("values", None) or {name: getattr(org, name) or "" for name in CONTACT_FIELDS}
    return _page("ngo/organisation.html", code, org=org, services=services, values=values, service_labels=SERVICE_LABELS,
                 units=CAPACITY_UNITS, county_name=ngo_views.county_name, **{"errors": {}, **context})  # fmt: skip


async def people_page(request: Request[Any, Any, Any], code: int = 200, **context: Any) -> Template:
    actor = request.scope["user"]
    return _page("ngo/people.html", code, people=await colleagues.colleagues(actor), admin=await colleagues.is_org_admin(actor),
                 me=actor.person_id, **{"errors": {}, "values": {}, **context})  # fmt: skip


class NgoOrganisationPages(Controller):
    path = "/ngo"
    include_in_schema = False
    guards = [ngo_only]

    @get("/organisation", operation_id="ngoOrganisationPage", include_in_schema=False)
    async def organisation(self, request: Request[Any, Any, Any]) -> Template:
        """The organisation's profile: contact, services with eligibility, area and sites, webhook and notification e-mail."""
        return await organisation_page(request)

    @post("/organisation", operation_id="ngoUpdateContactPage", include_in_schema=False, status_code=303)
    async def update_contact(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template | Redirect:
        """Change the contact, the notification e-mail and the webhook address (the API's update and its checks)."""
        actor = request.scope["user"]
        form = _form(await request.form())
        try:
            await update_organisation(actor.organisation_id, contact_update(form), actor, clock, request.app.state.settings)
        except DomainError as exc:
            field = exc.field if exc.field in CONTACT_FIELDS else "referral_email"
            message = exc.detail if exc.detail in FIELD_ERRORS.values() else FIELD_ERRORS[field]
            values = {name: form.get(name, "") for name in CONTACT_FIELDS}
            errors = exc.fields if isinstance(exc, FieldsRefused) else {field: message}
            return await organisation_page(request, exc.status_code, errors=errors, values=values)
        return Redirect("/ngo/organisation?done=saved#contact", status_code=303)

    @post("/organisation/webhook-secret", operation_id="ngoRotateWebhookSecretPage", include_in_schema=False, status_code=200)
    async def webhook_secret(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """A new webhook signing secret (sealed at rest, as the API does), shown on this page once."""
        actor = request.scope["user"]
        out = await rotate_webhook_secret(actor.organisation_id, actor, clock.now(), request.app.state.settings)
        return await organisation_page(request, secret=out.secret, signature_header=out.signature_header)

    @get("/services/{service_id:int}", operation_id="ngoServicePage", include_in_schema=False)
    async def service(self, request: Request[Any, Any, Any], service_id: FromPath[int]) -> Template:
        """One of the organisation's services: eligibility, area, sites (confidential addresses too) and capacity history."""
        actor = request.scope["user"]
        try:
            service = await get_service(service_id, actor)
            if service.organisation_id != actor.organisation_id:
                raise NotFound(f"service {service_id} not found", field="id")
            history = await capacity.capacity_history(service_id, actor, limit=20, offset=0)
        except NotFound:
            return _page("institution/missing.html", 404, message=NO_SUCH_SERVICE)
        lang, gettext = i18n.locale_of(request), _gettext(request)
        return _page("ngo/service.html", s=service, lines=ngo_views.eligibility_lines(service.eligibility, lang, gettext),
                     area=ngo_views.area_text(service.service_area, gettext), history=history.items, service_labels=SERVICE_LABELS,
                     units=CAPACITY_UNITS, county_name=ngo_views.county_name)  # fmt: skip

    @get("/people", operation_id="ngoPeoplePage", include_in_schema=False)
    async def people(self, request: Request[Any, Any, Any]) -> Template:
        """The organisation's people; its administrator also invites and deactivates them."""
        return await people_page(request)

    @post("/people", operation_id="ngoInvitePersonPage", include_in_schema=False, status_code=303)
    async def invite(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template | Redirect:
        """Invite a colleague: an account of the organisation and a set-password link e-mailed through the outbox."""
        form = _form(await request.form())
        errors = {name: text for name, text in INVITE_ERRORS.items() if not form.get(name) or (name == "email" and "@" not in form[name])}
        status = 422
        if not errors:
            try:
                await colleagues.invite(request.scope["user"], email=form["email"], name=form["name"], now=clock.now())
            except DomainError as exc:
                if exc.status_code == 403:
                    return await people_page(request, 403, errors={"page": colleagues.NOT_ADMIN})
                errors, status = {"email": EMAIL_TAKEN if exc.status_code == 409 else INVITE_ERRORS["email"]}, exc.status_code
        if errors:
            return await people_page(request, status, errors=errors, values=form)
        return Redirect("/ngo/people?done=invited", status_code=303)

    @post("/people/{person_id:int}/deactivate", operation_id="ngoDeactivatePersonPage", include_in_schema=False, status_code=303)
    async def deactivate(self, request: Request[Any, Any, Any], person_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Deactivate a colleague of the same organisation; their sessions end at once."""
        try:
            await colleagues.deactivate(request.scope["user"], person_id, clock.now())
        except NotFound:
            return _page("institution/missing.html", 404, message=NO_SUCH_PERSON)
        except DomainError as exc:
            text = colleagues.NOT_ADMIN if exc.status_code == 403 else exc.detail
            return await people_page(request, exc.status_code, errors={"page": text})
        return Redirect("/ngo/people?done=deactivated", status_code=303)
