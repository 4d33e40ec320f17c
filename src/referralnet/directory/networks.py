"""Networks (platforms such as ProTECT or the 15-NGO network) as records: their members, the binding of
secretariat people and tokens to them, and the scope of a secretariat's view.

``organisation.networks`` is a read copy of an organisation's network codes for the API field and the
search index; it is written only here (:func:`set_memberships`, :func:`add_member`, :func:`remove_member`),
in the transaction that writes the ``network_member`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from referralnet import counters
from referralnet.accounts.schemas import Actor
from referralnet.base import Input, Output
from referralnet.db import write_transaction
from referralnet.directory.schemas import NetworkCodeText
from referralnet.errors import BadParameter, Conflict, DomainError, Forbidden, InvalidInput, NotFound, _enum_hint
from referralnet.jsoncol import dumps
from referralnet.tables import Network, NetworkMember, Organisation, PersonNetwork, TokenNetwork


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What a secretariat view covers: the networks in view and their member organisations."""

    networks: tuple[str, ...] = ()  # network codes in view; () = every network, no filter
    organisations: frozenset[int] | None = None  # ids of the member organisations in view; None = no limit

    def allows(self, organisation_id: int | None) -> bool:
        return self.organisations is None or organisation_id in self.organisations


class NetworkCreate(Input):
    code: NetworkCodeText
    name_en: Annotated[str, Meta(min_length=1, max_length=200)]
    name_ro: Annotated[str, Meta(min_length=1, max_length=200)]
    active: bool = True


class NetworkMemberOut(Output):
    id: int
    slug: str
    name: str
    active: bool


class NetworkOut(Output):
    code: str
    name_en: str
    name_ro: str
    active: bool
    members: list[NetworkMemberOut]


class NetworkList(Output):
    items: list[NetworkOut]
    total: int


# ---- codes -------------------------------------------------------------------------------------


async def codes() -> dict[str, dict[str, Any]]:
    """Every network by code (id, names, active), in code order."""
    rows = await Network.select().order_by(Network.code)
    return {r["code"]: r for r in rows}


async def network_ids(wanted: Iterable[str], field: str, error: type[DomainError] = InvalidInput) -> dict[str, int]:
    """The ids of the networks ``wanted`` (in their order); a 4xx naming ``field`` and the nearest code if one is unknown
    (``error``: 422 for a body's value, ``BadParameter``'s 400 for a query or path parameter)."""
    known = await codes()
    out: dict[str, int] = {}
    for code in wanted:
        if code not in known:
            raise error(f"unknown network {code!r}: {_enum_hint(field, code, list(known))}", field=field)
        out[code] = known[code]["id"]
    return out


# ---- scope -------------------------------------------------------------------------------------


async def members_of(network_codes: Iterable[str]) -> frozenset[int]:
    """The ids of the organisations that belong to any of ``network_codes``."""
    wanted = list(network_codes)
    if not wanted:
        return frozenset()
    rows = await NetworkMember.select(NetworkMember.organisation).where(NetworkMember.network.code.is_in(wanted))
    return frozenset(r["organisation"] for r in rows)


async def in_scope(actor: Actor) -> Actor:
    """``actor`` with its networks' members when it is a bound secretariat (read each request, so a change of
    membership holds at once); any other actor as it is."""
    if not actor.bound:
        return actor
    return msgspec.structs.replace(actor, members=await members_of(actor.networks))


async def scope_for(actor: Actor, network: str | None = None) -> Scope:
    """The actor's view. network=None: the actor's bound networks' members (everything if unbound, or admin).
    network=CODE: that network's members, if the actor may see it (errors.Forbidden if the actor is bound to
    other networks only; errors.BadParameter(field="network"), a 400 naming the nearest code, if unknown)."""
    bound = actor.networks if actor.role != "admin" else ()
    if network is None:
        if not bound:
            return Scope()
        # A bound secretariat's members were read for this request already (``in_scope``): not read twice.
        members = actor.members if actor.members is not None else await members_of(bound)
        return Scope(networks=tuple(bound), organisations=members)
    await network_ids([network], "network", BadParameter)
    if bound and network not in bound:
        raise Forbidden(f"you review the network(s) {', '.join(bound)}, not {network!r}", field="network")
    return Scope(networks=(network,), organisations=await members_of([network]))


def visible_codes(actor: Actor, every: Iterable[str]) -> list[str]:
    """The network codes a network choice offers the actor: their bound networks, or every one if unbound or admin."""
    bound = actor.networks if actor.role != "admin" else ()
    return [c for c in every if not bound or c in bound]


# ---- memberships -------------------------------------------------------------------------------


async def _mirror(org_id: int) -> None:
    rows = await NetworkMember.select(NetworkMember.network.code).where(NetworkMember.organisation == org_id).order_by(
        NetworkMember.network.code
    )
    await Organisation.update({Organisation.networks: dumps([r["network.code"] for r in rows])}).where(Organisation.id == org_id)


async def set_memberships(org_id: int, wanted: list[str], ids: dict[str, int] | None = None) -> None:
    """Make ``wanted`` the organisation's networks, in the caller's write transaction (the caller bumps the
    directory counter). ``ids``: from :func:`network_ids`, read before the transaction began."""
    ids = ids if ids is not None else await network_ids(wanted, "networks")
    current = {r["network"] for r in await NetworkMember.select(NetworkMember.network).where(NetworkMember.organisation == org_id)}
    keep = set(ids.values())
    if current - keep:
        await NetworkMember.delete().where(NetworkMember.organisation == org_id, NetworkMember.network.is_in(list(current - keep)))
    for network_id in keep - current:
        await NetworkMember.insert(NetworkMember(network=network_id, organisation=org_id))
    await _mirror(org_id)


async def _organisation_id(ref: str | int) -> int:
    ref = str(ref)
    query = Organisation.select(Organisation.id)
    row = await (query.where(Organisation.id == int(ref)) if ref.isdigit() else query.where(Organisation.slug == ref)).first()
    if row is None:
        raise NotFound(f"organisation {ref!r} not found", field="organisation")
    return int(row["id"])


async def change_member(code: str, organisation: str | int, *, member: bool) -> NetworkOut:
    """Add an organisation to a network or take it out (idempotent); the directory counter moves."""
    network_id = (await network_ids([code], "code", BadParameter))[code]
    org_id = await _organisation_id(organisation)
    async with write_transaction():
        exists = await NetworkMember.exists().where(NetworkMember.network == network_id, NetworkMember.organisation == org_id)
        if member and not exists:
            await NetworkMember.insert(NetworkMember(network=network_id, organisation=org_id))
        elif not member and exists:
            await NetworkMember.delete().where(NetworkMember.network == network_id, NetworkMember.organisation == org_id)
        if member != exists:
            await _mirror(org_id)
            await counters.bump(counters.DIRECTORY)
    return (await list_networks([code])).items[0]


# ---- networks ----------------------------------------------------------------------------------


async def list_networks(only: list[str] | None = None) -> NetworkList:
    """Every network (or those of ``only``) with its members, in code order."""
    query = Network.select().order_by(Network.code)
    if only is not None:
        query = query.where(Network.code.is_in(only or [""]))
    rows = await query
    members: dict[int, list[NetworkMemberOut]] = {r["id"]: [] for r in rows}
    if rows:
        found = await NetworkMember.select(
            NetworkMember.network, NetworkMember.organisation, NetworkMember.organisation.slug,
            NetworkMember.organisation.name, NetworkMember.organisation.active,
        ).where(NetworkMember.network.is_in(list(members))).order_by(NetworkMember.organisation.name)  # fmt: skip
        for m in found:
            members[m["network"]].append(NetworkMemberOut(
                id=m["organisation"], slug=m["organisation.slug"], name=m["organisation.name"], active=m["organisation.active"]
            ))  # fmt: skip
    items = [
        NetworkOut(code=r["code"], name_en=r["name_en"], name_ro=r["name_ro"], active=r["active"], members=members[r["id"]])
        for r in rows
    ]
    return NetworkList(items=items, total=len(items))


async def create_network(data: NetworkCreate) -> NetworkOut:
    """A new network without members; 409 when the code is taken."""
    async with write_transaction():
        if await Network.exists().where(Network.code == data.code):
            raise Conflict(f"a network with code {data.code!r} exists", field="code")
        await Network.insert(Network(code=data.code, name_en=data.name_en.strip(), name_ro=data.name_ro.strip(), active=data.active))
        await counters.bump(counters.DIRECTORY)
    return (await list_networks([data.code])).items[0]


# ---- bindings of secretariat people and tokens ---------------------------------------------------


async def check_binding(role: str, wanted: list[str]) -> dict[str, int]:
    """The ids of the networks a new person or token of ``role`` is bound to; only the secretariat is bound."""
    if wanted and role != "secretariat":
        raise InvalidInput("only secretariat people and tokens are bound to networks", field="network")
    return await network_ids(dict.fromkeys(wanted), "network")


async def bind(kind: Literal["person", "token"], owner_id: int, ids: dict[str, int]) -> None:
    """Bind a person or token to networks (in the caller's write transaction)."""
    for network_id in ids.values():
        if kind == "person":
            await PersonNetwork.insert(PersonNetwork(person=owner_id, network=network_id))
        else:
            await TokenNetwork.insert(TokenNetwork(token=owner_id, network=network_id))


async def rebind_person(person_id: int, role: str, ids: dict[str, int]) -> None:
    """Replace a person's networks (in the caller's write transaction); their next request sees the change."""
    if ids and role != "secretariat":
        raise InvalidInput("only secretariat people and tokens are bound to networks", field="network")
    await PersonNetwork.delete().where(PersonNetwork.person == person_id)
    await bind("person", person_id, ids)


async def bound_codes(kind: Literal["person", "token"], owner_id: int) -> tuple[str, ...]:
    """The codes of the networks a person or token is bound to, in code order."""
    if kind == "person":
        rows = await PersonNetwork.select(PersonNetwork.network.code).where(PersonNetwork.person == owner_id)
    else:
        rows = await TokenNetwork.select(TokenNetwork.network.code).where(TokenNetwork.token == owner_id)
    return tuple(sorted(r["network.code"] for r in rows))
