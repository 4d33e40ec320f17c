"""The quicker SQLite converters give exactly Piccolo's values."""

from __future__ import annotations

import datetime
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st
from piccolo.engine import sqlite as piccolo_sqlite

from referralnet import sqlite_types


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_read_as_piccolo_reads_them(n: int) -> None:
    raw = str(n).encode()
    assert sqlite_types.integer(raw) == piccolo_sqlite.convert_int_out(raw)


@pytest.mark.parametrize("raw", [b"1.0", b"-3.0", b" 7 ", b"2.5"])
def test_integers_in_other_forms_fall_back_to_piccolo(raw: bytes) -> None:
    assert sqlite_types.integer(raw) == piccolo_sqlite.convert_int_out(raw)


@pytest.mark.parametrize("raw", [b"1", b"0", b"", b"true"])
def test_booleans_read_as_piccolo_reads_them(raw: bytes) -> None:
    assert sqlite_types.boolean(raw) is piccolo_sqlite.convert_boolean_out(raw)


_PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


@given(st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc) | st.just(_PLUS_TWO)))
def test_timestamps_read_as_piccolo_reads_them(moment: datetime.datetime) -> None:
    raw = moment.isoformat(sep=" ").encode()
    ours, theirs = sqlite_types.timestamptz(raw), piccolo_sqlite.convert_timestamptz_out(raw)
    assert ours == theirs and ours.tzinfo is theirs.tzinfo


def test_a_connection_with_declared_types_uses_them() -> None:
    import referralnet.sqlite_pool  # noqa: F401  (installs them)

    assert sqlite3.converters["INTEGER"] is sqlite_types.integer and sqlite3.converters["TIMESTAMPTZ"] is sqlite_types.timestamptz
    con = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
    con.execute("CREATE TABLE t (i INTEGER, b BOOLEAN, ts TIMESTAMPTZ)")
    con.execute("INSERT INTO t VALUES (42, 1, '2026-12-06 10:00:00+00:00')")
    assert con.execute("SELECT i, b, ts FROM t").fetchone() == (42, True, datetime.datetime(2026, 12, 6, 10, tzinfo=datetime.timezone.utc))


@given(st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc) | st.just(_PLUS_TWO)))
def test_read_back_is_what_the_column_gives_back(moment: datetime.datetime) -> None:
    import referralnet.sqlite_pool  # noqa: F401  (installs the converters; Piccolo's module its adapters)

    con = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
    con.execute("CREATE TABLE t (ts TIMESTAMPTZ)")
    con.execute("INSERT INTO t VALUES (?)", (moment,))
    stored = con.execute("SELECT ts FROM t").fetchone()[0]
    ours = sqlite_types.read_back(moment)
    assert ours == stored and ours.tzinfo is stored.tzinfo and ours.utcoffset() == datetime.timedelta(0)


def test_rows_are_the_dicts_piccolo_makes() -> None:
    from referralnet.sqlite_pool import _dict_row

    statements = ["SELECT 1 AS a, 2 AS b, 3 AS a", "SELECT 'x' AS c", "SELECT NULL AS a, 4 AS d UNION ALL SELECT 5, 6"]
    rows = {}
    for factory in (piccolo_sqlite.dict_factory, _dict_row):
        con = sqlite3.connect(":memory:")
        con.row_factory = factory
        # Alternating statements, and an open cursor read after another statement ran.
        first = con.execute(statements[2])
        rows[factory] = [con.execute(s).fetchall() for s in statements] + [first.fetchall()]
    assert rows[_dict_row] == rows[piccolo_sqlite.dict_factory]
    assert rows[_dict_row][0] == [{"a": 3, "b": 2}] and rows[_dict_row][3] == [{"a": None, "d": 4}, {"a": 5, "d": 6}]
