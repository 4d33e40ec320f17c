"""Settings: one frozen Struct read from ``REFERRALNET_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

PREFIX = "REFERRALNET_"


def _default_data_dir() -> str:
    # src/referralnet/settings.py -> repository root / data
    return str(Path(__file__).resolve().parents[2] / "data")


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Runtime configuration. Every field can be set as ``REFERRALNET_<FIELD>`` (upper case)."""

    database_url: str = "sqlite:///referralnet.sqlite"
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
    # Run the scheduled sweeps inside the web process (off for a separate `referralnet worker`).
    scheduler: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``REFERRALNET_*`` variables; keyword overrides win (used by the CLI and tests)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for name in cls.__struct_fields__:
            key = PREFIX + name.upper()
            if key in env:
                raw[name] = env[key]
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(raw, type=cls, strict=False)
        except msgspec.ValidationError as exc:
            # msgspec says "... - at `$.port`"; name the environment variable instead.
            msg = str(exc)
            if "`$." in msg:
                field = msg.rsplit("`$.", 1)[1].rstrip("`").split(".")[0].split("[")[0]
                msg = msg.rsplit(" - at ", 1)[0] + f" - in {PREFIX}{field.upper()}"
            raise SettingsError(msg) from exc

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")
