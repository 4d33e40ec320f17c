"""The single Piccolo app ``referralnet``; its migrations ship with the package (see :mod:`referralnet.resources`)."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from referralnet.resources import migrations_dir
from referralnet.tables import TABLES

MIGRATIONS_DIR = migrations_dir()

APP_CONFIG = AppConfig(
    app_name="referralnet",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
