"""Piccolo configuration: the engine comes from ``REFERRALNET_DATABASE_URL``.

``referralnet.db.bind`` replaces ``DB`` when the app or a test picks another database.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from referralnet.db import make_engine
from referralnet.settings import Settings

DB = make_engine(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["referralnet.piccolo_app"])
