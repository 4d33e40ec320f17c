"""SMTP answers the dispatcher acts on (both engines, a real aiosmtpd server): a 5xx refusal fails the
message at once with the server's answer kept, a 4xx is retried, and one connection serves a round."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from referralnet.notifications.outbox import notify_address
from referralnet.settings import Settings
from tests.conftest import START, Tokens, in_app
from tests.integration.servers import Inbox, free_port
from tests.integration.test_notifications import configured, dispatch, rows

GONE = "550 5.1.1 <gone@casa.test>: mailbox unavailable"
LATER = "451 4.7.1 greylisted, try again later"


class Picky(Inbox):
    """Refuses gone@ for good and later@ for now; accepts everyone else."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address.startswith("gone@"):
            return GONE
        if address.startswith("later@"):
            return LATER
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Counting(Controller):
    """Counts the SMTP sessions the server opens (one per client connection)."""

    sessions = 0

    def factory(self) -> Any:
        self.sessions += 1
        return super().factory()


@pytest.fixture
def smtp() -> Iterator[tuple[Picky, Counting]]:
    handler = Picky()
    controller = Counting(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.sessions = 0  # start() opens one connection of its own to see the server answer
    try:
        yield handler, controller
    finally:
        controller.stop()


def mail_to(client: Any, *addresses: str) -> None:
    async def write() -> None:
        for i, address in enumerate(addresses):
            await notify_address("referral_unplaced", address, now=START, subject=f"Referral {i} could not be placed", payload={"referral_id": i})

    in_app(client, write)


async def test_one_connection_serves_a_batch_of_messages(client: Any, tokens: Tokens, settings: Settings, clock: Any, smtp: Any) -> None:
    handler, controller = smtp
    mail_to(client, *(f"officer{i}@police.test" for i in range(5)))
    report = dispatch(client, configured(settings, smtp_host="127.0.0.1", smtp_port=controller.port), clock)
    assert (report.claimed, report.sent) == (5, 5)
    assert sorted(e.rcpt_tos[0] for e in handler.envelopes) == [f"officer{i}@police.test" for i in range(5)]
    assert controller.sessions == 1


async def test_permanent_refusal_fails_at_once_and_temporary_is_retried(
    client: Any, tokens: Tokens, settings: Settings, clock: Any, smtp: Any
) -> None:
    handler, controller = smtp
    mail_to(client, "first@police.test", "gone@casa.test", "later@casa.test", "last@police.test")
    mail = configured(settings, smtp_host="127.0.0.1", smtp_port=controller.port)

    report = dispatch(client, mail, clock)
    assert (report.claimed, report.sent, report.failed, report.retried) == (4, 2, 1, 1)
    assert controller.sessions == 1  # the refusals did not cost the batch its connection
    assert sorted(e.rcpt_tos[0] for e in handler.envelopes) == ["first@police.test", "last@police.test"]
    by_recipient = {r["recipient"]: r for r in await rows(client, tokens.make("secretariat"))}
    gone, later = by_recipient["gone@casa.test"], by_recipient["later@casa.test"]
    assert (gone["status"], gone["attempts"]) == ("failed", 1) and GONE in gone["last_error"]
    assert (later["status"], later["attempts"]) == ("pending", 1) and LATER in later["last_error"]
    assert later["next_attempt_at"].startswith("2026-03-02T09:01:00")

    clock.advance(minutes=1)
    report = dispatch(client, mail, clock)
    assert (report.claimed, report.retried, report.failed) == (1, 1, 0)  # only the 451 comes back, never the 550
    assert controller.sessions == 2


async def test_server_down_fails_the_round_after_one_connection_attempt(client: Any, tokens: Tokens, settings: Settings, clock: Any) -> None:
    mail_to(client, *(f"officer{i}@police.test" for i in range(3)))
    report = dispatch(client, configured(settings, smtp_host="127.0.0.1", smtp_port=free_port()), clock)
    assert (report.claimed, report.retried) == (3, 3)
    errors = {r["last_error"] for r in await rows(client, tokens.make("secretariat"))}
    assert len(errors) == 1 and "could not connect" in errors.pop()
