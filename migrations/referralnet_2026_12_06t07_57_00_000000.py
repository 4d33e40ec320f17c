"""Networks as records: ``network`` (code, English and Romanian names, active), ``network_member``
(which organisations belong to which network), and the bindings of secretariat people and tokens to
networks (``person_network``, ``token_network``). The next migration fills them from the
organisations' ``networks`` strings (Piccolo runs a migration's raw steps before its schema steps).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, ForeignKey, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _id() -> Serial:
    return Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                  choices=None, db_column_name="id", secret=False)  # fmt: skip


class Organisation(Table, tablename="organisation", schema=None):
    id = _id()


class Person(Table, tablename="person", schema=None):
    id = _id()


class ApiToken(Table, tablename="api_token", schema=None):
    id = _id()


class Network(Table, tablename="network", schema=None):
    id = _id()


ID = "2026-12-06T07:57:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "network, network_member, person_network, token_network"


def _params(**extra: object) -> dict:
    base = {"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
            "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}  # fmt: skip
    return {**base, **extra}


def _add(manager: MigrationManager, class_name: str, table: str, name: str, column_class: type, **params: object) -> None:
    manager.add_column(
        table_class_name=class_name, tablename=table, column_name=name, db_column_name=name,
        column_class_name=column_class.__name__, column_class=column_class, params=_params(**params), schema=None,
    )  # fmt: skip


def _reference(manager: MigrationManager, class_name: str, table: str, name: str, target: type, on_delete: OnDelete,
               index: bool) -> None:  # fmt: skip
    _add(manager, class_name, table, name, ForeignKey, references=target, on_delete=on_delete, on_update=OnUpdate.cascade,
         target_column=None, index=index, null=False, default=0)  # fmt: skip


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_table(class_name="Network", tablename="network", schema=None, columns=None)
    _add(manager, "Network", "network", "code", Varchar, default="", null=False, length=40, unique=True)
    _add(manager, "Network", "network", "name_en", Varchar, default="", null=False, length=200)
    _add(manager, "Network", "network", "name_ro", Varchar, default="", null=False, length=200)
    _add(manager, "Network", "network", "active", Boolean, default=True, null=False)
    manager.add_table(class_name="NetworkMember", tablename="network_member", schema=None, columns=None)
    _reference(manager, "NetworkMember", "network_member", "network", Network, OnDelete.restrict, True)
    _reference(manager, "NetworkMember", "network_member", "organisation", Organisation, OnDelete.restrict, True)
    manager.add_table(class_name="PersonNetwork", tablename="person_network", schema=None, columns=None)
    _reference(manager, "PersonNetwork", "person_network", "person", Person, OnDelete.cascade, True)
    _reference(manager, "PersonNetwork", "person_network", "network", Network, OnDelete.restrict, False)
    manager.add_table(class_name="TokenNetwork", tablename="token_network", schema=None, columns=None)
    _reference(manager, "TokenNetwork", "token_network", "token", ApiToken, OnDelete.restrict, True)
    _reference(manager, "TokenNetwork", "token_network", "network", Network, OnDelete.restrict, False)
    return manager
