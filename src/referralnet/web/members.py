"""The secretariat's members and people pages: organisations (add, edit, deactivate or reactivate) with their
services, capacity and sites, and the people of the organisations in view (invite, change role, deactivate).

Organisations go through the directory API's services (so the change counters and lookups are kept);
people through ``accounts.management`` (``accounts.people`` underneath). Everything is limited to the
person's networks' members (``scope_for``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template

from referralnet.accounts import management, people
from referralnet.directory.listing import list_services
from referralnet.directory.membership import bound_networks, networks_after
from referralnet.directory.networks import list_networks, visible_codes
from referralnet.directory.schemas import OrganisationCreate, OrganisationUpdate
from referralnet.directory.services import create_organisation, get_organisation, list_organisations, update_organisation
from referralnet.errors import Conflict, DomainError, Forbidden, NotFound
from referralnet.params import CurrentClock, FromPath, FromQuery
from referralnet.texts import N_
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import SERVICE_TYPES
from referralnet.web.auth import ROLE_NAMES
from referralnet.web.forms import FieldsRefused, refused_fields
from referralnet.web.institution import _page
from referralnet.web.review import csv_download, not_in_view, scope_of
from referralnet.web.secretariat import secretariat_only

FIELDS = ("name", "short_name", "referral_email", "referral_phone", "phone_24h", "website", "county", "city", "description")
# A refused field as the page words it (msgspec's own messages are English and technical).
FIELD_ERRORS = {
    "name": N_("give the organisation's name (300 characters at most)"),
    "short_name": N_("the short name is too long: 80 characters at most"),
    "referral_email": N_("give a valid e-mail address, e.g. office@example.org"),
    "referral_phone": N_("give a phone number in digits, e.g. +40 232 000 000"),
    "phone_24h": N_("give a phone number in digits, e.g. +40 232 000 000"),
    "website": N_("give a web address starting with https://"),
    "county": N_("choose a county from the list"),
    "city": N_("the locality is too long: 300 characters at most"),
    "description": N_("the description is too long: 4000 characters at most"),
    "networks": N_("choose at least one of the networks you review, and only those"),
}
EXISTS = N_("an organisation with this name exists already")
PERSON_ERRORS = {
    "email": N_("give a valid e-mail address that no other person uses"),
    "name": N_("give the person's name"),
    "role": N_("you may not give this role"),
    "organisation": N_(
        "choose an organisation of the right kind: an NGO for the NGO role, an institution for the institution role, "
        "none for the secretariat and administrators"
    ),
    "person_id": N_("you cannot deactivate yourself; ask a colleague"),
    "networks": N_("a secretariat person is bound to some of the networks you review; only a secretariat person is bound"),
}
DONE = {
    "invited": N_("The person was added; the e-mail with the link to choose a password is in the outbox."),
    "changed": N_("The role was changed; the person's sessions have ended."),
    "deactivated": N_("The person was deactivated; their sessions have ended."),
    "saved": N_("The organisation was saved."),
    "deactivated_org": N_("The organisation was deactivated: its open offers were withdrawn and its people and tokens can no longer act."),
    "reactivated_org": N_("The organisation is active again."),
}


def _form(form: Any) -> dict[str, str]:
    return {key: str(value).strip() for key, value in form.items() if key not in ("_csrf_token", "networks")}


def _chosen_networks(form: Any) -> list[str]:
    return [str(v) for v in form.getall("networks")] if "networks" in form else []


def organisation_body(form: dict[str, str], kind: type[Any], networks: list[str] | None = None) -> Any:
    """The form as the API's body (an empty field is "not stated"); InvalidInput names the refused field."""
    values: dict[str, Any] = {name: form.get(name) or None for name in FIELDS if name in form}
    if networks is not None:
        values["networks"] = networks
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError:
        if kind is OrganisationCreate and not values.get("name"):
            values = {**values, "name": 0}  # a missing name is refused as a wrong one
        raise refused_fields(values, OrganisationUpdate, FIELD_ERRORS, FIELD_ERRORS["name"]) from None


async def _org_in_view(request: Request[Any, Any, Any], org_id: int) -> Any:
    if not (await scope_of(request)).allows(org_id):
        raise NotFound(f"organisation {org_id} not found", field="org_id")
    org = await get_organisation(org_id)
    if org.kind != "provider":
        raise NotFound(f"organisation {org_id} not found", field="org_id")
    return org


async def members(request: Request[Any, Any, Any], q: str | None = None) -> list[Any]:
    """The providers in view, active and not, by name (or best match first with ``q``)."""
    found = await list_organisations(q=q or None, network=None, limit=500, offset=0, include_inactive=True, kind="provider",
                                     index=request.app.state.get("organisation_index"),
                                     organisations=(await scope_of(request)).organisations)  # fmt: skip
    return found.items


def _counties() -> list[tuple[str, str]]:
    return sorted(((code, c.name) for code, c in geo.counties().items()), key=lambda pair: pair[1])


async def network_choices(actor: Any) -> list[Any]:
    """The networks a choice offers the person: those they review, or every one if unbound or an admin."""
    every = (await list_networks()).items
    visible = set(visible_codes(actor, [n.code for n in every]))
    return [n for n in every if n.code in visible]


def _field_error(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, FieldsRefused):
        return exc.fields
    field = exc.field or "name"
    return {field: EXISTS if isinstance(exc, Conflict) else FIELD_ERRORS.get(field, exc.detail)}


class MembersPages(Controller):
    path = "/secretariat"
    include_in_schema = False
    guards = [secretariat_only]

    async def _edit(self, request: Request[Any, Any, Any], code: int, org: Any, values: dict[str, Any], services: list[Any],
                    **context: Any) -> Template:  # fmt: skip
        return _page("secretariat/member.html", code, org=org, values=values, services=services, counties=_counties(),
                     types=SERVICE_TYPES, networks=await network_choices(request.scope["user"]),
                     **{"errors": {}, "done": None, **context})  # fmt: skip

    async def _new(self, request: Request[Any, Any, Any], code: int, values: dict[str, Any], errors: dict[str, str]) -> Template:
        return _page("secretariat/member_new.html", code, values=values, errors=errors, counties=_counties(),
                     networks=await network_choices(request.scope["user"]))  # fmt: skip

    @get("/members", operation_id="secretariatMembersPage", include_in_schema=False)
    async def list_page(self, request: Request[Any, Any, Any], q: FromQuery[str | None] = None) -> Template:
        """The member organisations in view: contact, services, active or not; a search by name."""
        return _page("secretariat/members.html", members=await members(request, q), q=q or "")

    @get("/members.csv", operation_id="secretariatMembersCsv", include_in_schema=False)
    async def list_csv(self, request: Request[Any, Any, Any], excel: FromQuery[bool] = False) -> Response[str]:
        """The member organisations in view as UTF-8 CSV (``?excel=true``: with a byte order mark)."""
        header = ["id", "name", "short_name", "active", "county", "city", "referral_email", "referral_phone", "phone_24h", "website",
                  "networks", "services"]  # fmt: skip
        rows = [[o.id, o.name, o.short_name, o.active, o.county, o.city, o.referral_email, o.referral_phone, o.phone_24h, o.website,
                 " ".join(o.networks), o.service_count] for o in await members(request)]  # fmt: skip
        return csv_download(header, rows, "members.csv", excel)

    @get("/members/new", operation_id="secretariatNewMemberPage", include_in_schema=False)
    async def new_page(self, request: Request[Any, Any, Any]) -> Template:
        """The form to add an organisation (in the networks the person reviews, ticked)."""
        return await self._new(request, 200, {"networks": list(bound_networks(request.scope["user"]))}, {})

    @post("/members/new", operation_id="secretariatCreateMember", include_in_schema=False, status_code=303)
    async def create(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Redirect | Template:
        """Add an organisation (the API's create); a refused field is shown beside it."""
        raw = await request.form()
        form, chosen = _form(raw), _chosen_networks(raw)
        actor = request.scope["user"]
        try:
            body = organisation_body(form, OrganisationCreate, networks_after(actor, [], chosen))
            org = await create_organisation(body, actor, clock, settings=request.app.state.settings)
        except DomainError as exc:
            return await self._new(request, exc.status_code, {**form, "networks": chosen}, _field_error(exc))
        return Redirect(f"/secretariat/members/{org.id}?done=saved", status_code=303)

    @get("/members/{org_id:int}", operation_id="secretariatMemberPage", include_in_schema=False)
    async def detail(self, request: Request[Any, Any, Any], org_id: FromPath[int]) -> Template:
        """One organisation: its details to edit, its services with capacity and sites (confidential addresses too)."""
        try:
            org = await _org_in_view(request, org_id)
        except NotFound:
            return not_in_view()
        services = await self._services(request, org_id)
        return await self._edit(request, 200, org, msgspec.structs.asdict(org), services, done=DONE.get(request.query_params.get("done") or ""))

    async def _services(self, request: Request[Any, Any, Any], org_id: int) -> list[Any]:
        found = await list_services(request.scope["user"], type=None, county=None, exploitation_form=None, has_capacity=None,
                                    organisation_id=org_id, limit=500, offset=0)  # fmt: skip
        return found.items

    @post("/members/{org_id:int}", operation_id="secretariatUpdateMember", include_in_schema=False, status_code=303)
    async def update(self, request: Request[Any, Any, Any], org_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Save the organisation's details (the API's update); a refused field is shown beside it."""
        raw = await request.form()
        form, chosen = _form(raw), _chosen_networks(raw)
        try:
            org = await _org_in_view(request, org_id)
        except NotFound:
            return not_in_view()
        try:
            after = networks_after(request.scope["user"], org.networks, chosen)
            patch = organisation_body({name: form.get(name, "") for name in FIELDS}, OrganisationUpdate, after)
            await update_organisation(org_id, patch, request.scope["user"], clock, request.app.state.settings)
        except DomainError as exc:
            return await self._edit(request, exc.status_code, org, {**form, "networks": chosen}, await self._services(request, org_id),
                                    errors=_field_error(exc))  # fmt: skip
        return Redirect(f"/secretariat/members/{org_id}?done=saved", status_code=303)

    @post("/members/{org_id:int}/active", operation_id="secretariatMemberActive", include_in_schema=False, status_code=303)
    async def set_active(self, request: Request[Any, Any, Any], org_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Deactivate (its open offers are withdrawn, its people and tokens refused) or reactivate an organisation."""
        active = _form(await request.form()).get("active") == "true"
        try:
            await _org_in_view(request, org_id)
        except NotFound:
            return not_in_view()
        await update_organisation(org_id, OrganisationUpdate(active=active), request.scope["user"], clock, request.app.state.settings)
        return Redirect(f"/secretariat/members/{org_id}?done={'reactivated_org' if active else 'deactivated_org'}", status_code=303)


async def _choices(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the people forms offer: the roles the person may give and the organisations in view (by kind)."""
    actor, orgs = request.scope["user"], (await scope_of(request)).organisations
    index = request.app.state.get("organisation_index")
    providers = await members(request)
    institutions = [] if orgs is not None else (await list_organisations(
        q=None, network=None, limit=2000, offset=0, include_inactive=False, kind="institution", index=index)).items  # fmt: skip
    return {"roles": management.roles_for(actor), "role_names": ROLE_NAMES, "providers": [o for o in providers if o.active],
            "institutions": institutions, "names": {o.id: o.name for o in [*providers, *institutions]},
            "networks": await network_choices(actor)}  # fmt: skip


def _person_error(exc: DomainError) -> tuple[str, str]:
    field = {"network": "networks"}.get(exc.field or "email", exc.field or "email")
    if isinstance(exc, Forbidden) and field == "organisation":
        return field, PERSON_ERRORS["organisation"]
    return field, PERSON_ERRORS.get(field, exc.detail)


def _organisation_of(form: dict[str, str]) -> int | None:
    value = form.get("organisation", "")
    return int(value) if value.isdigit() else None


class PeoplePages(Controller):
    path = "/secretariat"
    include_in_schema = False
    guards = [secretariat_only]

    async def _list(self, request: Request[Any, Any, Any], code: int = 200, **context: Any) -> Template:
        listed = await people.list_people((await scope_of(request)).organisations)
        return _page("secretariat/people.html", code, people=listed, done=DONE.get(request.query_params.get("done") or ""),
                     **await _choices(request), **{"errors": {}, "values": {}, **context})  # fmt: skip

    @get("/people", operation_id="secretariatPeoplePage", include_in_schema=False)
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The people of the organisations in view, with the form to invite one."""
        return await self._list(request)

    @get("/people.csv", operation_id="secretariatPeopleCsv", include_in_schema=False)
    async def list_csv(self, request: Request[Any, Any, Any], excel: FromQuery[bool] = False) -> Response[str]:
        """The people in view as UTF-8 CSV (``?excel=true``: with a byte order mark)."""
        names = (await _choices(request))["names"]
        rows = [[p["id"], p["name"], p["email"], p["role"], p["organisation"], names.get(p["organisation"], ""), p["active"], p["created_at"]]
                for p in await people.list_people((await scope_of(request)).organisations)]  # fmt: skip
        return csv_download(["id", "name", "email", "role", "organisation_id", "organisation", "active", "created_at"], rows, "people.csv", excel)

    @post("/people/invite", operation_id="secretariatInvitePerson", include_in_schema=False, status_code=303)
    async def invite(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Redirect | Template:
        """Add a person with a role and organisation; the set-password link goes out by e-mail through the outbox."""
        raw = await request.form()
        form, chosen = _form(raw), _chosen_networks(raw)
        try:
            await management.invite(request.scope["user"], email=form.get("email", ""), name=form.get("name", ""), role=form.get("role", ""),
                                    organisation=_organisation_of(form), now=clock.now(),
                                    organisations=(await scope_of(request)).organisations, networks=chosen)  # fmt: skip
        except DomainError as exc:
            field, text = _person_error(exc)
            return await self._list(request, exc.status_code, errors={field: text}, values={**form, "networks": chosen})
        return Redirect("/secretariat/people?done=invited", status_code=303)

    @get("/people/{person_id:int}", operation_id="secretariatPersonPage", include_in_schema=False)
    async def person_page(self, request: Request[Any, Any, Any], person_id: FromPath[int]) -> Template:
        """One person: change their role or organisation, or deactivate them."""
        try:
            person = await management.person_in_view(person_id, request.scope["user"], (await scope_of(request)).organisations)
        except DomainError:
            return not_in_view()
        return _page("secretariat/person.html", person=person, errors={}, **await _choices(request))

    @post("/people/{person_id:int}/role", operation_id="secretariatChangeRole", include_in_schema=False, status_code=303)
    async def change_role(self, request: Request[Any, Any, Any], person_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Give the person another role or organisation; their sessions end at once."""
        form, orgs = _form(await request.form()), (await scope_of(request)).organisations
        try:
            person = await management.person_in_view(person_id, request.scope["user"], orgs)
        except DomainError:
            return not_in_view()
        try:
            await management.change_role(request.scope["user"], person_id, form.get("role", ""), _organisation_of(form), clock.now(), orgs)
        except DomainError as exc:
            field, text = _person_error(exc)
            return _page("secretariat/person.html", exc.status_code, person=person, errors={field: text}, **await _choices(request))
        return Redirect("/secretariat/people?done=changed", status_code=303)

    @post("/people/{person_id:int}/deactivate", operation_id="secretariatDeactivatePerson", include_in_schema=False, status_code=303)
    async def deactivate(self, request: Request[Any, Any, Any], person_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Deactivate the person; their sessions end at once."""
        orgs = (await scope_of(request)).organisations
        try:
            person = await management.person_in_view(person_id, request.scope["user"], orgs)
        except DomainError:
            return not_in_view()
        try:
            await management.deactivate(request.scope["user"], person_id, clock.now(), orgs)
        except DomainError as exc:
            field, text = _person_error(exc)
            return _page("secretariat/person.html", exc.status_code, person=person, errors={field: text}, **await _choices(request))
        return Redirect("/secretariat/people?done=deactivated", status_code=303)
