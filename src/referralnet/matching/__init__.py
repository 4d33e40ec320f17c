"""Matching: an anonymised need profile to ranked, explained providers.

The core (``profile``, ``privacy``, ``directory``, ``live``, ``filters``, ``engine``, ``explain``,
``reasons``, ``bundles``, ``geodesy``) is pure: functions of a profile, a directory snapshot, live
figures and a time, with no I/O. ``services`` (with ``reader``) and ``controllers`` are the thin
database and HTTP adapters around it.
"""
