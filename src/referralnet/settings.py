"""Settings: one frozen Struct read from ``REFERRALNET_*`` environment variables."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote_plus, urlsplit

import msgspec
from msgspec import Meta

PREFIX = "REFERRALNET_"


def _default_data_dir() -> str:
    from referralnet.resources import data_dir

    return str(data_dir())


def default_database_path() -> Path:
    """The default SQLite file: in the platform's user data folder, whatever the working folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("referralnet", appauthor=False)) / "referralnet.sqlite"


def _default_database_url() -> str:
    path = default_database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def describe_database(url: str) -> str:
    """The database URL for messages, without its secrets: the user part's password and a ``password=`` or
    ``sslpassword=`` parameter."""
    if not url.startswith("postgresql://"):
        return url
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}" if at and ":" in userinfo else parts.netloc
    query = "&".join(
        f"{key}=***" if unquote_plus(key).lower() in _SECRET_PARAMETERS else f"{key}{sep}{value}"
        for key, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
    )  # fmt: skip
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Runtime configuration. Every field can be set as ``REFERRALNET_<FIELD>`` (upper case)."""

    # Default: referralnet.sqlite in the platform's user data folder (see default_database_path).
    database_url: Annotated[str, Meta(pattern=r"^(sqlite:///|postgresql://|postgres://)")] = msgspec.field(default_factory=_default_database_url)
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    # Signs one-click links and webhook payloads. Unset: a random key is generated and kept in the database.
    secret_key: str | None = None
    data_dir: str = msgspec.field(default_factory=_default_data_dir)
    debug: bool = False
    log_level: str = "INFO"
    db_pool_min: Annotated[int, Meta(ge=1)] = 1
    db_pool_max: Annotated[int, Meta(ge=1)] = 10
    # A capacity figure older than this many days is "stale" in matching and coverage.
    capacity_stale_days: Annotated[int, Meta(ge=1)] = 7
    # Coverage exports and any figure seen outside the secretariat show counts of people below this as "<N".
    coverage_disclosure_threshold: Annotated[int, Meta(ge=2, le=100)] = 10
    # Run the scheduled sweeps inside the web process (off for a separate `referralnet worker`).
    scheduler: bool = True
    sweep_interval_seconds: Annotated[int, Meta(ge=1)] = 30
    # The site is served over HTTPS: session and CSRF cookies get the Secure flag.
    cookie_secure: bool = False
    # DEMO ONLY: `serve` seeds the fictional demo data and prints demo people with fresh passwords.
    demo: bool = False

    # Referrals: how long a provider has to answer, by urgency, and how many are asked automatically.
    deadline_emergency_minutes: Annotated[int, Meta(ge=1)] = 60
    deadline_urgent_minutes: Annotated[int, Meta(ge=1)] = 24 * 60
    deadline_planned_minutes: Annotated[int, Meta(ge=1)] = 72 * 60
    auto_offers: Annotated[int, Meta(ge=1, le=10)] = 3

    # Notifications. With no SMTP host, e-mails stay in the outbox (status "held") and are logged.
    # The base of every link in messages (REFERRALNET_PUBLIC_URL); unset: the served host and port.
    public_url: str | None = None
    secretariat_email: str | None = None
    mail_from: str = "referralnet@localhost"
    smtp_host: str | None = None
    smtp_port: Annotated[int, Meta(ge=1, le=65535)] = 25
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    notification_max_attempts: Annotated[int, Meta(ge=1, le=50)] = 6
    webhook_timeout_seconds: Annotated[float, Meta(gt=0, le=120)] = 10.0
    # Webhook targets: https and public addresses only. Plain http where this is set (tests, local networks);
    # hosts (comma-separated names or addresses) allowed to resolve to loopback, private or link-local addresses.
    webhook_allow_http: bool = False
    webhook_allow_hosts: str = ""
    # Closed, cancelled and unplaced referrals lose their free text after this many days (docs/data-protection.md).
    retention_days: Annotated[int, Meta(ge=1, le=3650)] = 180

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``REFERRALNET_*`` variables; keyword overrides win (used by the CLI and tests)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for name in cls.__struct_fields__:
            key = PREFIX + name.upper()
            if key in env:
                raw[name] = env[key]
        if "public_url" not in raw and PREFIX + "BASE_URL" in env:  # the setting's former name
            raw["public_url"] = env[PREFIX + "BASE_URL"]
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(raw, type=cls, strict=False)
        except msgspec.ValidationError as exc:
            # msgspec says "... - at `$.port`"; name the environment variable instead.
            msg = str(exc)
            if "`$." in msg:
                field = msg.rsplit("`$.", 1)[1].rstrip("`").split(".")[0].split("[")[0]
                msg = msg.rsplit(" - at ", 1)[0] + f" - in {PREFIX}{field.upper()}"
                if field == "database_url":
                    msg = f"{PREFIX}DATABASE_URL (or --database-url) must start with sqlite:/// or postgresql://"
            raise SettingsError(msg) from exc

    def deadline(self, urgency: str) -> dt.timedelta:
        minutes = {
            "emergency": self.deadline_emergency_minutes,
            "urgent": self.deadline_urgent_minutes,
            "planned": self.deadline_planned_minutes,
        }[urgency]
        return dt.timedelta(minutes=minutes)

    @property
    def base_url(self) -> str:
        """Where links in messages point: ``public_url``, else this instance's own host and port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # bound to every interface: the local address still reaches it
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")
