"""E-mail of the outbox: plain text built from the row's subject and anonymised payload, sent over SMTP.

A new offer (and its reminder) carries signed one-click accept and decline links, valid until the
offer's deadline. Nothing beyond the payload is added: it already holds the anonymised summary only.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from referralnet.clock import utc
from referralnet.jsoncol import load
from referralnet.notifications import DeliveryError
from referralnet.notifications.signing import DELIVERY_HEADER, make_offer_token
from referralnet.settings import Settings
from referralnet.tables import Offer
from referralnet.vocabulary import codes

OFFER_KINDS = ("offer_new", "offer_reminder")
SMTP_TIMEOUT_SECONDS = 30.0

# Payload keys shown in the text, in this order; any other key is internal (ids, kind) and left out.
LABELS = {
    "referral_id": "Referral",
    "urgency": "Urgency",
    "summary": "Person (anonymised)",
    "deadline": "Answer by",
    "organisation": "Accepted by",
    "need": "Need",
    "provider_phone": "Provider's referral phone",
    "provider_phone_24h": "Provider's 24-hour line",
    "provider_email": "Provider's referral e-mail",
    "arrival_instructions": "Arrival instructions",
    "officer_name": "Referring officer",
    "officer_phone": "Officer's work phone",
    "officer_email": "Officer's work e-mail",
    "reason": "Reason",
    "outcome": "Outcome",
    "service": "Service",
    "service_type": "Service type",
    "stale_days": "Counts as stale after (days)",
}


def payload_of(row: dict[str, Any]) -> dict[str, Any]:
    return dict(load(row["payload"]) or {})


def _when(value: dt.datetime) -> str:
    return f"{value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def _value(key: str, value: Any, settings: Settings) -> str:
    if key == "deadline" and isinstance(value, str):
        return _when(utc(value))
    if key == "need" and isinstance(value, str):
        return ", ".join(codes.need_label(v.strip()) for v in value.split(","))
    if key == "path":
        return settings.base_url.rstrip("/") + str(value)
    return str(value)


async def _offer_lines(offer_id: int, settings: Settings, now: dt.datetime, key: str) -> list[str]:
    """The one-click links while the offer is open, else a line saying it no longer is."""
    offer = await Offer.select(Offer.status, Offer.deadline, Offer.service.name).where(Offer.id == offer_id).first()
    asked = [f"Service asked: {offer['service.name']}", ""] if offer else []
    if offer is None or offer["status"] != "pending" or now >= offer["deadline"]:
        state = "past its deadline" if offer and offer["status"] == "pending" else (offer["status"] if offer else "gone")
        return [*asked, f"This offer can no longer be answered (it is {state})."]
    base = settings.base_url.rstrip("/")
    accept, decline = (f"{base}/respond/{make_offer_token(key, offer_id, a, offer['deadline'])}" for a in ("accept", "decline"))
    return [
        *asked,
        "To accept (opens a page where you confirm):",
        accept,
        "",
        "To decline (opens a page where you give the reason):",
        decline,
        "",
        f"The links work until the deadline, {_when(offer['deadline'])}. You can also answer in referralnet (offer {offer_id}).",
    ]


def _capacity_lines(row: dict[str, Any], payload: dict[str, Any], settings: Settings, key: str) -> list[str]:
    """The capacity reminder's one-click page (a browser page; the API path is for programs)."""
    from referralnet.web.capacity import capacity_url

    issued = row.get("created_at") or dt.datetime.now(dt.timezone.utc)
    if isinstance(issued, str):
        issued = dt.datetime.fromisoformat(issued)
    lines = [
        "Are the figures still correct, or how many places are free now? One click opens a page where you answer:",
        capacity_url(settings.base_url, key, int(payload["service_id"]), issued),
    ]
    if payload.get("path"):
        lines += ["", f"Programs can update it with PUT {settings.base_url}{payload['path']} (API token needed)."]
    return lines


async def _invite_lines(person_id: int, settings: Settings, now: dt.datetime) -> list[str]:
    """A colleague's invitation: a set-password link made now (only its hash is kept, never the link)."""
    from referralnet.accounts.colleagues import invite_link

    token = await invite_link(person_id, now)
    if token is None:
        return ["This invitation is no longer needed: the account has a password already, or was deactivated."]
    url = f"{settings.base_url.rstrip('/')}/password/set/{token}"
    return ["You are invited to referralnet. Choose your password here (the link works once, for 24 hours):", "", url, "",
            "If the link has expired, use \"Forgot your password?\" on the sign-in page."]


async def render_text(row: dict[str, Any], settings: Settings, now: dt.datetime, key: str) -> str:
    """The plain-text body: the subject, the labelled payload fields and, for offers, the links."""
    payload = payload_of(row)
    lines = [row["subject"], ""]
    lines += [f"{label}: {_value(k, payload[k], settings)}" for k, label in LABELS.items() if payload.get(k) not in (None, "")]
    if row["kind"] in OFFER_KINDS and payload.get("offer_id"):
        lines += ["", *await _offer_lines(int(payload["offer_id"]), settings, now, key)]
    if row["kind"] == "capacity_stale" and payload.get("service_id"):
        lines += ["", *_capacity_lines(row, payload, settings, key)]
    if row["kind"] == "person_invite" and payload.get("person_id"):
        lines += ["", *await _invite_lines(int(payload["person_id"]), settings, now)]
    lines += ["", "--", "referralnet. This message holds no personal data; the referral itself is in referralnet."]
    return "\n".join(lines) + "\n"


async def compose(row: dict[str, Any], settings: Settings, now: dt.datetime, key: str) -> EmailMessage:
    """The message; its Message-ID comes from the delivery id, so a retried message is recognisably the same."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Date"] = email.utils.format_datetime(now)
    domain = settings.mail_from.rpartition("@")[2] or "referralnet"
    message["Message-ID"] = f"<{row['delivery_id']}@{domain}>"
    message[DELIVERY_HEADER] = row["delivery_id"]
    message.set_content(await render_text(row, settings, now, key))
    return message


def _answer(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


class Mailer:
    """One SMTP connection for a dispatch round: opened at the first message, closed by :meth:`close`.

    A refusal of one message (5xx to MAIL FROM, RCPT TO or DATA) is permanent and keeps the server's
    answer; a 4xx answer, a failed connection, greeting, STARTTLS or login, a dropped connection or a
    timeout is temporary (retried later). After a dropped connection the next message reconnects, once;
    once connecting has failed, the rest of the round fails at once with the same reason (a server that
    does not answer is not waited for once per message).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        self.smtp: aiosmtplib.SMTP | None = None
        self.connections = 0
        self.broken: DeliveryError | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.broken is not None:
            raise self.broken
        settings = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            use_tls=settings.smtp_tls == "ssl",
            # False, not None: aiosmtplib would otherwise upgrade whenever the server offers STARTTLS.
            start_tls=settings.smtp_tls == "starttls",
            timeout=SMTP_TIMEOUT_SECONDS,
        )
        self.connections += 1
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            self.broken = DeliveryError(f"{self.server}: could not connect: {type(exc).__name__}: {exc}")
            raise self.broken from exc
        self.smtp = smtp
        return smtp

    async def send(self, message: EmailMessage) -> None:
        """Send one message; raise DeliveryError (``permanent`` for a 5xx refusal of this message)."""
        smtp = self.smtp if self.smtp is not None and self.smtp.is_connected else await self._connect()
        try:
            await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(_answer(r) for r in exc.recipients)
            permanent = all(500 <= r.code < 600 for r in exc.recipients)
            raise DeliveryError(f"{self.server} refused the recipient: {answers}", permanent=permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{self.server} refused the message: {_answer(exc)}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            self.smtp = None
            error = DeliveryError(f"{self.server}: {type(exc).__name__}: {exc}")
            if self.connections >= 2:  # dropped twice: the rest of the round waits for the next one
                self.broken = error
            raise error from exc

    async def close(self) -> None:
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self.smtp.close()
        self.smtp = None


async def send_one(message: EmailMessage, settings: Settings) -> None:
    """Send one message on a connection of its own (a set-password link, sent at once, never stored)."""
    mailer = Mailer(settings)
    try:
        await mailer.send(message)
    finally:
        await mailer.close()
