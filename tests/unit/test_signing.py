"""One-click link tokens and webhook signatures."""

from __future__ import annotations

import datetime as dt

import pytest

from referralnet.errors import BadLink
from referralnet.notifications.signing import make_offer_token, read_offer_token, sign_body, verify_body

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
DEADLINE = NOW + dt.timedelta(hours=1)


def test_a_token_reads_back_until_its_deadline() -> None:
    token = make_offer_token("key", 42, "accept", DEADLINE)
    link = read_offer_token("key", token, NOW)
    assert (link.offer_id, link.action, link.expires) == (42, "accept", DEADLINE)
    assert read_offer_token("key", token, DEADLINE - dt.timedelta(seconds=1)).offer_id == 42
    with pytest.raises(BadLink, match="expired"):
        read_offer_token("key", token, DEADLINE)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("42.", "43.", 1),  # another offer
        lambda t: t.replace(".accept.", ".decline."),  # another action
        lambda t: t.replace(t.split(".")[2], str(int(t.split(".")[2]) + 3600)),  # a later deadline
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature itself
        lambda t: t + ".x",
        lambda t: "",
    ],
)
def test_an_altered_token_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    token = make_offer_token("key", 42, "accept", DEADLINE)
    with pytest.raises(BadLink, match="not valid"):
        read_offer_token("key", tamper(token), NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(BadLink):
        read_offer_token("other", make_offer_token("key", 42, "decline", DEADLINE), NOW)


def test_webhook_signature_is_hmac_sha256_of_the_raw_body() -> None:
    # Reference value from: printf '{"a":1}' | openssl dgst -sha256 -hmac secret
    assert sign_body("secret", b'{"a":1}') == "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
    header = sign_body("secret", b'{"a":1}')
    assert verify_body("secret", b'{"a":1}', header)
    assert not verify_body("secret", b'{"a":2}', header)
    assert not verify_body("other", b'{"a":1}', header)
