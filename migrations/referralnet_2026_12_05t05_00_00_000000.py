"""Organisation kind (provider/institution), institution type, county and city; referral phones;
the cause of a capacity change that was not an NGO's update; the referral's institution column
(filled by the next migration: Piccolo runs raw steps before a manager's column changes)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, ForeignKey, Integer, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-05T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "organisation kind, institution type, county, city, phones; capacity change cause; referral institution"


class Organisation(Table, tablename="organisation", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)  # fmt: skip


def _params(default, null, length=None):
    params = {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    if length is not None:
        params["length"] = length
    return params


COLUMNS = [
    ("Organisation", "organisation", "referral_phone", Varchar, _params(None, True, 40)),
    ("Organisation", "organisation", "phone_24h", Varchar, _params(None, True, 40)),
    ("Organisation", "organisation", "kind", Varchar, _params("provider", False, 20)),
    ("Organisation", "organisation", "institution_type", Varchar, _params(None, True, 30)),
    ("Organisation", "organisation", "county", Varchar, _params(None, True, 8)),
    ("Organisation", "organisation", "city", Varchar, _params(None, True, 300)),
    ("Organisation", "organisation", "city_inferred", Boolean, _params(False, False)),
    ("CapacityChange", "capacity_change", "cause", Varchar, _params(None, True, 30)),
    ("CapacityChange", "capacity_change", "offer", Integer, _params(None, True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    for class_name, tablename, column, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=column,
            db_column_name=column,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.add_column(
        table_class_name="Referral",
        tablename="referral",
        column_name="institution",
        db_column_name="institution",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Organisation,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
