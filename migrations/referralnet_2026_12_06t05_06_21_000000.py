"""Each need placed on its own: a referral_need table, offers bound to a need, delivery state,
arrival instructions and the referring officer's work contact. The next migration fills them in
for existing referrals (Piccolo runs a migration's raw steps before its schema steps).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Referral(Table, tablename="referral", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)  # fmt: skip


ID = "2026-12-06T05:06:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral_need; offer need/delivery/arrival_instructions; referral officer contact"


def _params(**extra: object) -> dict:
    base = {"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
            "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}  # fmt: skip
    return {**base, **extra}


def _add(manager: MigrationManager, class_name: str, table: str, name: str, column_class: type, **params: object) -> None:
    manager.add_column(
        table_class_name=class_name, tablename=table, column_name=name, db_column_name=name,
        column_class_name=column_class.__name__, column_class=column_class, params=_params(**params), schema=None,
    )  # fmt: skip


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_table(class_name="ReferralNeed", tablename="referral_need", schema=None, columns=None)
    _add(manager, "ReferralNeed", "referral_need", "referral", ForeignKey, references=Referral, on_delete=OnDelete.restrict,
         on_update=OnUpdate.cascade, target_column=None, index=True)  # fmt: skip
    _add(manager, "ReferralNeed", "referral_need", "position", Integer, default=0, null=False)
    _add(manager, "ReferralNeed", "referral_need", "service_type", Varchar, default="", null=False, length=40)
    _add(manager, "ReferralNeed", "referral_need", "priority", Varchar, default="required", null=False, length=10)
    _add(manager, "ReferralNeed", "referral_need", "status", Varchar, default="", null=False, length=20, index=True)
    _add(manager, "ReferralNeed", "referral_need", "queue", JSON, default="[]", null=False)
    _add(manager, "ReferralNeed", "referral_need", "placed_offer", Integer)
    _add(manager, "ReferralNeed", "referral_need", "placed_at", Timestamptz)
    _add(manager, "Offer", "offer", "need", Integer, index=True)
    _add(manager, "Offer", "offer", "delivery", Varchar, length=20)
    _add(manager, "Offer", "offer", "arrival_instructions", Text)
    _add(manager, "Referral", "referral", "officer_name", Varchar, length=200)
    _add(manager, "Referral", "referral", "officer_phone", Varchar, length=40)
    return manager
