"""HTTP handlers of the directory; thin wrappers over ``services`` and ``capacity``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from referralnet.accounts.guards import admin, any_role, directory_editor, staff
from referralnet.directory import capacity, listing, networks, services
from referralnet.directory.schemas import (
    CapacityHistory,
    CapacityUpdate,
    NetworkCodeText,
    OrganisationCreate,
    OrganisationList,
    OrganisationOut,
    OrganisationUpdate,
    ServiceCreate,
    ServiceList,
    ServiceOut,
    ServiceUpdate,
)
from referralnet.params import MAX_ID, CurrentActor, CurrentClock, Id, JSONBody, Limit, Offset, query
from referralnet.vocabulary.codes import CountyCode, ExploitationForm, OrganisationKind, ServiceType


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["directory"]
    guards = [any_role]

    @get("/", operation_id="listOrganisations")
    async def list_organisations(
        self,
        request: Request[Any, Any, Any],
        actor: CurrentActor,
        q: Annotated[str | None, query("Fuzzy, diacritics-insensitive search on names and aliases", max_length=200)] = None,
        network: Annotated[NetworkCodeText | None, query("Only members of this network (a code of GET /api/v1/networks)")] = None,
        include_inactive: Annotated[bool, query("Include deactivated organisations (secretariat and admins)")] = False,
        kind: Annotated[OrganisationKind, query("provider (default) or institution (referring bodies)")] = "provider",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> OrganisationList:
        """List providers (or, with ``kind=institution``, referring institutions), best fuzzy match first with ``q``."""
        return await services.list_organisations(
            q=q, network=network, limit=limit, offset=offset, include_inactive=include_inactive and actor.is_staff, kind=kind,
            index=request.app.state.get("organisation_index"),
            organisations=actor.members or frozenset() if actor.bound and kind == "provider" else None,  # a bound secretariat's members
        )  # fmt: skip

    @post("/", operation_id="createOrganisation", guards=[staff], status_code=HTTP_201_CREATED)
    async def create_organisation(
        self, data: JSONBody[OrganisationCreate], actor: CurrentActor, clock: CurrentClock, request: Request[Any, Any, Any]
    ) -> OrganisationOut:
        """Add an organisation to the directory (secretariat and admin)."""
        return await services.create_organisation(data, actor, clock, settings=request.app.state.settings)

    @get("/{org_id:int}", operation_id="getOrganisation")
    async def get_organisation(self, org_id: Id, actor: CurrentActor) -> OrganisationOut:
        """One organisation (a deactivated one only for those who manage it)."""
        return await services.get_organisation(org_id, actor)

    @patch("/{org_id:int}", operation_id="updateOrganisation", guards=[directory_editor])
    async def update_organisation(
        self, org_id: Id, data: JSONBody[OrganisationUpdate], actor: CurrentActor, clock: CurrentClock, request: Request[Any, Any, Any]
    ) -> OrganisationOut:
        """Change an organisation's details (its own NGO, the secretariat, admins)."""
        return await services.update_organisation(org_id, data, actor, clock, request.app.state.settings)

    @post(
        "/{org_id:int}/services",
        operation_id="createService",
        guards=[directory_editor],
        status_code=HTTP_201_CREATED,
    )
    async def create_service(
        self, org_id: Id, data: JSONBody[ServiceCreate], actor: CurrentActor, clock: CurrentClock
    ) -> ServiceOut:
        """Add a service to an organisation."""
        return await services.create_service(org_id, data, actor, clock)


class ServiceController(Controller):
    path = "/api/v1/services"
    tags = ["directory"]
    guards = [any_role]

    @get("/", operation_id="listServices")
    async def list_services(
        self,
        request: Request[Any, Any, Any],
        actor: CurrentActor,
        type: Annotated[ServiceType | None, query("Service type code")] = None,
        county: Annotated[CountyCode | None, query("Served in this county (area, national, or a site)")] = None,
        exploitation_form: Annotated[ExploitationForm | None, query("Accepts this form of exploitation (or not stated)")] = None,
        has_capacity: Annotated[bool | None, query("true: free places now; false: full or not reported")] = None,
        organisation_id: Annotated[int | None, query("Only this organisation's services", ge=1, le=MAX_ID)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ServiceList:
        """List services with filters."""
        return await listing.list_services(
            actor,
            type=type,
            county=county,
            exploitation_form=exploitation_form,
            has_capacity=has_capacity,
            organisation_id=organisation_id,
            limit=limit,
            offset=offset,
            counts=request.app.state.get("list_counts"),
        )

    @get("/{service_id:int}", operation_id="getService")
    async def get_service(self, service_id: Id, actor: CurrentActor) -> ServiceOut:
        """One service; confidential site addresses only for its organisation and the secretariat."""
        return await services.get_service(service_id, actor)

    @patch("/{service_id:int}", operation_id="updateService", guards=[directory_editor])
    async def update_service(
        self, service_id: Id, data: JSONBody[ServiceUpdate], actor: CurrentActor, clock: CurrentClock
    ) -> ServiceOut:
        """Change a service's description, eligibility, area or sites."""
        return await services.update_service(service_id, data, actor, clock)

    @put("/{service_id:int}/capacity", operation_id="setCapacity", guards=[directory_editor])
    async def set_capacity(
        self, service_id: Id, data: JSONBody[CapacityUpdate], actor: CurrentActor, clock: CurrentClock
    ) -> ServiceOut:
        """Set free (and optionally total) capacity: the one call an NGO makes to stay current."""
        return await capacity.set_capacity(service_id, data, actor, clock)

    @get("/{service_id:int}/capacity/history", operation_id="getCapacityHistory", guards=[directory_editor])
    async def capacity_history(
        self, service_id: Id, actor: CurrentActor, limit: Limit = 100, offset: Offset = 0
    ) -> CapacityHistory:
        """Who changed this service's capacity, when, from what to what."""
        return await capacity.capacity_history(service_id, actor, limit=limit, offset=offset)


NetworkPath = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="A network's code")]


class NetworkController(Controller):
    path = "/api/v1/networks"
    tags = ["directory"]
    guards = [staff]

    @get("/", operation_id="listNetworks")
    async def list_networks(self, actor: CurrentActor) -> networks.NetworkList:
        """The networks the caller reviews (every one for an unbound secretariat or an admin), with their members."""
        every = list(await networks.codes())
        return await networks.list_networks(networks.visible_codes(actor, every))

    @post("/", operation_id="createNetwork", guards=[admin], status_code=HTTP_201_CREATED)
    async def create_network(self, data: JSONBody[networks.NetworkCreate]) -> networks.NetworkOut:
        """Add a network (admins); members are added one by one."""
        return await networks.create_network(data)

    @put("/{code:str}/members/{org_id:int}", operation_id="addNetworkMember", guards=[admin])
    async def add_member(self, code: NetworkPath, org_id: Id) -> networks.NetworkOut:
        """Make an organisation a member of the network (admins; idempotent)."""
        return await networks.change_member(code, org_id, member=True)

    @delete("/{code:str}/members/{org_id:int}", operation_id="removeNetworkMember", guards=[admin], status_code=HTTP_200_OK)
    async def remove_member(self, code: NetworkPath, org_id: Id) -> networks.NetworkOut:
        """Take an organisation out of the network (admins; idempotent)."""
        return await networks.change_member(code, org_id, member=False)
