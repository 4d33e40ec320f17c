"""Response Structs of the coverage review.

A ``Shown`` figure is a count of people: an int, or ``"<10"`` (``"<threshold"``) when disclosure
control hides it. Provider, service and capacity figures are plain ints: they are not about people.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from referralnet.base import Output

Shown = int | str
Disclosure = Literal["raw", "safe"]


class AgeGroupOut(Output):
    code: str
    bands: list[str]


class CoverageCell(Output):
    county: str
    service_type: str
    age_group: str
    gender: str
    exploitation_form: str | None
    providers: int
    providers_stated: int
    services: int
    services_stated: int
    capacity_total: int
    capacity_free: int
    capacity_unknown: int


class CoverageMatrix(Output):
    generated_at: dt.datetime
    distance_km: float
    ages: str
    age_groups: list[AgeGroupOut]
    language: str | None
    disclosure: Disclosure
    cells: list[CoverageCell]


class Gap(Output):
    county: str
    county_name: str
    service_type: str
    age_group: str
    gender: str
    exploitation_form: str | None
    reason: Literal["no_provider", "no_free_capacity"]
    providers: int
    services: int
    capacity_total: int
    referrals_unplaced: Shown


class GapList(Output):
    generated_at: dt.datetime
    period_from: dt.datetime
    period_to: dt.datetime
    distance_km: float
    ages: str
    language: str | None
    disclosure: Disclosure
    threshold: int
    total: int
    items: list[Gap]


class CountTable(Output):
    """A table of counts of people with its row and column totals."""

    name: str
    row_key: str
    rows: list[str]
    row_labels: list[str]
    columns: list[str]
    cells: list[list[Shown]]
    row_totals: list[Shown]
    column_totals: list[Shown]
    total: Shown


class PlacementTime(Output):
    """Time from referral to placement of the referrals placed, hours (percentile_cont)."""

    urgency: str  # an urgency, or "all"
    placed: Shown
    median_hours: float | None
    p90_hours: float | None


class OrganisationActivity(Output):
    """Offers sent to an organisation in the period and how it answered.

    acceptance_rate = accepted / (accepted + declined); decline_rate = declined / (accepted +
    declined); answer_rate = (accepted + declined) / (accepted + declined + expired). Withdrawn and
    pending offers had no chance to be answered and are left out of the rates.
    """

    organisation_id: int
    organisation_name: str
    offers_sent: Shown
    accepted: Shown
    declined: Shown
    expired: Shown
    withdrawn: Shown
    pending: Shown
    acceptance_rate: float | None
    decline_rate: float | None
    answer_rate: float | None
    median_response_minutes: float | None


class CapacityFreshness(Output):
    """How old and how full an organisation's capacity figures are (active services reporting capacity)."""

    organisation_id: int
    organisation_name: str
    services: int
    never_updated: int
    stale: int
    newest_update: dt.datetime | None
    oldest_update: dt.datetime | None
    days_since_newest: int | None
    days_since_oldest: int | None
    full: int  # services reporting 0 free places
    capacity_total: int
    capacity_free: int


class Activity(Output):
    generated_at: dt.datetime
    period_from: dt.datetime
    period_to: dt.datetime
    disclosure: Disclosure
    threshold: int
    stale_days: int
    referrals_by_county: CountTable
    # Staff only; None for institutions and NGOs.
    referrals_by_urgency: CountTable | None = None
    # Which kind of institution referred (the referral's institution's type; "staff" for the secretariat/admins).
    referrals_by_institution_type: CountTable | None = None
    placement_time: list[PlacementTime] | None = None
    organisations: list[OrganisationActivity] | None = None
    offers: CountTable | None = None
    decline_reasons: CountTable | None = None
    capacity_freshness: list[CapacityFreshness] | None = None
    # Referrals created per month (of the period) by outcome, and times, rates and decline reasons by month,
    # county and referring institution type (staff only).
    referrals_by_month: CountTable | None = None
    breakdowns: list[Breakdown] | None = None


class BreakdownRow(Output):
    """Times and rates of one month, county or referring institution type; a figure made of fewer than
    ``threshold`` people (or, for the rate, of a small count of accepted or declined offers) is null when safe."""

    key: str
    label: str
    median_placement_hours: float | None
    acceptance_rate: float | None  # accepted / (accepted + declined) of the offers sent
    median_response_minutes: float | None


class Breakdown(Output):
    """The activity by one dimension: times and rates per row, and the decline reasons per row."""

    dimension: Literal["month", "county", "institution_type"]
    rows: list[BreakdownRow]
    decline_reasons: CountTable


class YearlyRow(Output):
    group: str  # a REPORT_GROUPS code, or "any" (distinct referrals placed with any service)
    label: str
    cells: list[Shown]  # per outcome column
    total: Shown


class YearlyReport(Output):
    """Distinct referrals placed in the year per service group and outcome (a referral placed with services
    of two groups counts once in each; the "any" row counts it once)."""

    year: int
    networks: list[str]
    disclosure: Disclosure
    threshold: int
    columns: list[str]
    rows: list[YearlyRow]
