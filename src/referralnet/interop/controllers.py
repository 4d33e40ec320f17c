"""HTTP handlers of the HSDS 3.0 read API (``/hsds``), the FHIR view of a referral and its CodeSystems."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import PathParameter

from referralnet.accounts.guards import any_role
from referralnet.errors import NotFound
from referralnet.interop import fhir, hsds_api, services
from referralnet.interop.schemas import HsdsPage
from referralnet.params import CurrentActor, CurrentClock, Id, query

Page = Annotated[int, query("Page number, from 1", ge=1, le=10**6)]
PerPage = Annotated[int, query("Items per page", ge=1, le=500)]
Search = Annotated[str | None, query("Diacritics-insensitive text search on names and descriptions", max_length=200)]
HsdsId = Annotated[str, PathParameter(description="HSDS id (UUID)", max_length=64)]


class HsdsController(Controller):
    path = "/hsds"
    tags = ["hsds"]
    guards = [any_role]

    @get("/services", operation_id="hsdsListServices")
    async def list_services(
        self,
        actor: CurrentActor,
        search: Search = None,
        taxonomy_term_id: Annotated[str | None, query("Only services with this taxonomy term (either language)", max_length=64)] = None,
        organization_id: Annotated[str | None, query("Only this organization's services (HSDS id)", max_length=64)] = None,
        modified_after: Annotated[dt.datetime | None, query("Only services modified at or after this time")] = None,
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> HsdsPage:
        """HSDS services (compiled, with organization, locations, areas, languages and attributes)."""
        services, _ = await hsds_api.visible(actor)
        found = hsds_api.filter_services(
            services, search=search, taxonomy_term_id=taxonomy_term_id, organization_id=organization_id, modified_after=modified_after
        )
        return hsds_api.page_of(found, page, per_page)

    @get("/services/{service_id:str}", operation_id="hsdsGetService")
    async def get_service(self, actor: CurrentActor, service_id: HsdsId) -> dict[str, Any]:
        """One compiled HSDS service."""
        return await hsds_api.get_service(actor, service_id)

    @get("/organizations", operation_id="hsdsListOrganizations")
    async def list_organizations(self, actor: CurrentActor, search: Search = None, page: Page = 1, per_page: PerPage = 50) -> HsdsPage:
        """HSDS organizations with their identifiers, attributes and the places they work."""
        _, orgs = await hsds_api.visible(actor)
        if search and search.strip():
            orgs = hsds_api.search_organizations(orgs, search)
        return hsds_api.page_of(orgs, page, per_page)

    @get("/organizations/{organization_id:str}", operation_id="hsdsGetOrganization")
    async def get_organization(self, actor: CurrentActor, organization_id: HsdsId) -> dict[str, Any]:
        """One HSDS organization with its services."""
        return await hsds_api.get_organization(actor, organization_id)

    @get("/taxonomies", operation_id="hsdsListTaxonomies")
    async def list_taxonomies(self, search: Search = None, page: Page = 1, per_page: PerPage = 50) -> HsdsPage:
        """The project's vocabulary as HSDS taxonomies."""
        return hsds_api.page_of(hsds_api.taxonomies(search), page, per_page)

    @get("/taxonomy_terms", operation_id="hsdsListTaxonomyTerms")
    async def list_taxonomy_terms(
        self,
        search: Search = None,
        taxonomy_id: Annotated[str | None, query("Only terms of this taxonomy", max_length=64)] = None,
        parent_id: Annotated[str | None, query("Only children of this term", max_length=64)] = None,
        top_only: Annotated[bool, query("Only terms without a parent")] = False,
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> HsdsPage:
        """Every term, in English and Romanian (``language``)."""
        return hsds_api.page_of(hsds_api.taxonomy_terms(search, taxonomy_id, parent_id, top_only), page, per_page)


class FhirReferralController(Controller):
    path = "/api/v1/referrals"
    tags = ["fhir"]
    guards = [any_role]

    @get("/{referral_id:int}/fhir", operation_id="getReferralFhir", media_type="application/fhir+json")
    async def referral_bundle(
        self, request: Request[Any, Any, Any], referral_id: Id, actor: CurrentActor, clock: CurrentClock
    ) -> dict[str, Any]:
        """The referral as a FHIR R4 Bundle: ServiceRequests, a Task per offer, an anonymous Patient."""
        return await services.referral_bundle(referral_id, actor, clock.now(), request.app.state.settings.base_url)


class FhirVocabularyController(Controller):
    path = "/api/v1/vocabulary/fhir"
    tags = ["fhir"]

    @get("/CodeSystem/{name:str}", operation_id="getFhirCodeSystem", media_type="application/fhir+json")
    async def code_system(self, request: Request[Any, Any, Any], name: Annotated[str, PathParameter(max_length=40)]) -> dict[str, Any]:
        """A CodeSystem of the vocabulary (service-type, decline-reason, outcome, referral-status); public."""
        if name not in fhir.code_systems():
            raise NotFound(f"code system {name} not found", field="name")
        return fhir.code_system(request.app.state.settings.base_url, name)
