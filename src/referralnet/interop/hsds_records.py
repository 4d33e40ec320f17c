"""What the HSDS import maps input to (organisations, services, report), and cell parsers that name the row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec

from referralnet.directory.schemas import OrganisationCreate, ServiceCreate
from referralnet.errors import _actionable


@dataclass
class InService:
    where: str
    name: str
    type: str
    data: ServiceCreate
    sites: list[dict[str, Any]]
    updated_at: dt.datetime | None
    capacity_updated_at: dt.datetime | None

    @property
    def counties(self) -> set[str]:
        return {s["county"] for s in self.sites} | set(self.data.service_area.counties)


@dataclass
class InOrg:
    where: str
    data: OrganisationCreate
    fictional: bool
    # True when the slug came from a referralnet identifier (the same organisation), not from the name.
    slug_stated: bool = False
    services: list[InService] = field(default_factory=list)

    @property
    def counties(self) -> set[str]:
        return {p.county for p in self.data.places} | {c for s in self.services for c in s.counties}


@dataclass
class Mapped:
    orgs: list[InOrg] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unmapped: dict[str, int] = field(default_factory=dict)


class Bad(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where, self.reason = where, reason


def as_int(row: dict[str, Any], key: str, low: int = 0, high: int = 1_000_000) -> int | None:
    value = row.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Bad(row["_where"], f"{key}: not a number: {value!r}") from None
    if number != int(number) or not low <= number <= high:
        raise Bad(row["_where"], f"{key}: not a whole number from {low} to {high}: {value!r}")
    return int(number)


def as_float(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Bad(row["_where"], f"{key}: not a number: {value!r}") from None


def as_time(row: dict[str, Any], key: str) -> dt.datetime | None:
    value = row.get(key)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Bad(row["_where"], f"{key}: not a date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


# Our field -> the HSDS field it came from, so a refused value is named as the input names it.
HSDS_NAMES = {"referral_email": "email", "short_name": "alternate_name", "licence": "licenses", "slug": "organization_identifier",
              "places": "location", "eligibility": "attribute", "service_area": "service_area", "capacity": "service_capacity"}  # fmt: skip


def convert(where: str, value: dict[str, Any], kind: type[Any]) -> Any:
    """``value`` as the directory's Struct; a refused value is a bad row named by its HSDS field."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).rpartition(" - at `$.")
        if not message:
            raise Bad(where, str(exc)) from None
        ours = path.rstrip("`")
        head, dot, rest = ours.partition(".")
        # A pattern's refusal says what the field expects, as the API's errors do, not the pattern.
        message = _actionable({"key": ours, "message": message})["message"]
        raise Bad(where, f"{HSDS_NAMES.get(head, head)}{dot}{rest}: {message}") from None
