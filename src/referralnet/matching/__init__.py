"""Matching: an anonymised need profile to ranked, explained providers.

The core (``profile``, ``privacy``, ``directory``, ``engine``, ``bundles``, ``explain``) is pure:
functions of a profile, a directory snapshot and a time, with no I/O. ``services`` and
``controllers`` are the thin database and HTTP adapters around it.
"""
