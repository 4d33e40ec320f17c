"""How a provider sees who acted in a referral's history: another provider unnamed, the secretariat without whom it acted for."""

from __future__ import annotations

from referralnet.referrals.provider_view import _actor


def test_actor_labels_as_a_provider_reads_them() -> None:
    assert _actor("secretariat:Ana on behalf of Casa Copiilor", own_answer=False) == "secretariat:Ana"
    assert _actor("secretariat:Ana on behalf of Casa Copiilor", own_answer=True) == "secretariat:Ana on behalf of Casa Copiilor"
    assert _actor("ngo:Ion", own_answer=False) == "provider" and _actor("link:Casa Copiilor", own_answer=False) == "provider"
    assert _actor("ngo:Ion", own_answer=True) == "ngo:Ion" and _actor("institution:IPJ", own_answer=False) == "institution:IPJ"
