"""``referralnet user create|list|deactivate`` as a subprocess, and the set-password and reset links
e-mailed over real SMTP (aiosmtpd on a local port)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.settings import Settings
from tests.conftest import REPO
from tests.integration.servers import Inbox
from tests.integration.test_people import PASSWORD, add_person, csrf_of, sign_in


def referralnet(database: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "REFERRALNET_DATABASE_URL": f"sqlite:///{database}", **env}
    return subprocess.run([sys.executable, "-m", "referralnet", *args], env=environment, cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "people.sqlite"
    assert referralnet(path, "migrate").returncode == 0
    return path


def test_create_list_and_deactivate(database: Path) -> None:
    made = referralnet(database, "user", "create", "--email", "Ioana@Example.org", "--name", "Ioana Marin", "--role", "secretariat",
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created secretariat person ioana@example.org" in made.stdout and PASSWORD not in made.stdout
    short = referralnet(database, "user", "create", "--email", "b@example.org", "--name", "B", "--role", "admin", stdin="short\n")
    assert short.returncode == 2 and "password: the password must have at least 12 characters" in short.stderr
    common = referralnet(database, "user", "create", "--email", "c@example.org", "--name", "C", "--role", "admin", stdin="password1234\n")
    assert common.returncode == 2 and "too common" in common.stderr
    no_org = referralnet(database, "user", "create", "--email", "d@example.org", "--name", "D", "--role", "ngo", stdin=PASSWORD + "\n")
    assert no_org.returncode == 2 and "organisation" in no_org.stderr
    again = referralnet(database, "user", "create", "--email", "ioana@example.org", "--name", "X", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = referralnet(database, "user", "list")
    assert listed.stdout.splitlines() == ["ioana@example.org\tIoana Marin\tsecretariat\t-\tactive"]
    assert referralnet(database, "user", "deactivate", "--email", "ioana@example.org").returncode == 0
    assert referralnet(database, "user", "list").stdout.strip().endswith("\tdeactivated")
    twice = referralnet(database, "user", "deactivate", "--email", "ioana@example.org")
    assert twice.returncode == 0 and "was already deactivated" in twice.stdout
    assert referralnet(database, "user", "deactivate", "--email", "nobody@example.org").returncode == 2


async def test_invite_link_is_emailed_and_sets_the_password_once(database: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    made = referralnet(database, "user", "create", "--email", "mihai@example.org", "--name", "Mihai", "--role", "admin", "--invite",
                       REFERRALNET_SMTP_HOST="127.0.0.1", REFERRALNET_SMTP_PORT=str(port),
                       REFERRALNET_BASE_URL="https://referralnet.example.org")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "invitation e-mailed to mihai@example.org" in made.stdout
    assert "mihai@example.org\tMihai\tadmin\t-\tinvited" in referralnet(database, "user", "list").stdout  # no password yet
    [message] = handler.messages
    assert message["To"] == "mihai@example.org"
    body = message.get_content()
    link = re.search(r"https://referralnet\.example\.org(/password/set/[A-Za-z0-9_-]+)", body)
    assert link and "24 hour" in body
    assert link.group(1) not in made.stdout  # e-mailed, not printed
    settings = Settings(database_url=f"sqlite:///{database}", data_dir=str(REPO / "data"), scheduler=False)
    clock = FixedClock(dt.datetime.now(dt.timezone.utc))
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        csrf = await csrf_of(client, link.group(1))
        form = {"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": csrf}
        assert (await client.post(link.group(1), data=form, follow_redirects=False)).status_code == 303
        assert (await client.post(link.group(1), data=form)).status_code == 400  # single use
        assert (await sign_in(client, email="mihai@example.org")).status_code == 303
    assert "mihai@example.org\tMihai\tadmin\t-\tactive" in referralnet(database, "user", "list").stdout


async def test_reset_emails_a_link_only_for_an_account(settings: Settings, clock: FixedClock, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    mailed = msgspec.structs.replace(settings, smtp_host="127.0.0.1", smtp_port=port)
    async with AsyncTestClient(app=create_app(mailed, clock=clock)) as client:
        add_person(client, clock)
        answers: list[Any] = []
        for address in ("ana.pop@example.org", "nobody@example.org"):
            token = await csrf_of(client, "/password/reset")
            resp = await client.post("/password/reset", data={"email": address, "_csrf_token": token})
            answers.append((resp.status_code, resp.text))
        assert answers[0] == answers[1] and answers[0][0] == 200
        assert [m["To"] for m in handler.messages] == ["ana.pop@example.org"]
        assert "/password/set/" in handler.messages[0].get_content() and "1 hour" in handler.messages[0].get_content()


async def test_demo_people_sign_in_with_the_printed_passwords(client: AsyncTestClient[Any], clock: FixedClock, settings: Settings) -> None:
    from referralnet.accounts.demo import banner, ensure_demo_people
    from tests.conftest import in_app

    rows = in_app(client, ensure_demo_people, settings.data_dir, clock)
    assert [role for _, role, _ in rows] == ["institution", "ngo", "secretariat", "admin"]
    assert "DEMO ONLY" in banner(rows, "http://127.0.0.1:8000")
    email, _, password = rows[0]
    assert (await sign_in(client, email=email, password=password)).headers["location"] == "/institution/referrals"
    again = in_app(client, ensure_demo_people, settings.data_dir, clock)  # a restart: new passwords, old ones refused
    client.cookies.clear()
    assert again[0][2] != password and (await sign_in(client, email=email, password=password)).status_code == 401


def test_secretariat_people_and_tokens_are_bound_to_networks(database: Path) -> None:
    made = referralnet(database, "user", "create", "--email", "protect@example.org", "--name", "Ana", "--role", "secretariat",
                       "--network", "protect", "--network", "ngo15", stdin=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "bound to network protect, ngo15" in made.stdout
    wrong = referralnet(database, "user", "create", "--email", "x@example.org", "--name", "X", "--role", "secretariat",
                        "--network", "protekt", stdin=PASSWORD + "\n")  # fmt: skip
    assert wrong.returncode == 2 and "network: unknown network 'protekt': did you mean protect?" in wrong.stderr
    admin = referralnet(database, "user", "create", "--email", "y@example.org", "--name", "Y", "--role", "admin",
                        "--network", "protect", stdin=PASSWORD + "\n")  # fmt: skip
    assert admin.returncode == 2 and "only secretariat" in admin.stderr
    token = referralnet(database, "token", "create", "--role", "secretariat", "--name", "ProTECT", "--network", "protect")
    assert token.returncode == 0 and "bound to network protect" in token.stdout, token.stderr


def test_a_persons_networks_change_later(database: Path) -> None:
    assert referralnet(database, "user", "create", "--email", "s@example.org", "--name", "S", "--role", "secretariat",
                       stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    bound = referralnet(database, "user", "networks", "--email", "s@example.org", "--network", "ngo15")
    assert bound.returncode == 0 and "s@example.org is bound to ngo15" in bound.stdout, bound.stderr
    unbound = referralnet(database, "user", "networks", "--email", "s@example.org")
    assert unbound.returncode == 0 and "no network (the whole directory)" in unbound.stdout
    nobody = referralnet(database, "user", "networks", "--email", "x@example.org", "--network", "ngo15")
    assert nobody.returncode == 2 and "email: no person" in nobody.stderr
