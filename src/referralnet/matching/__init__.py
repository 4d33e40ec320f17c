"""Matching: an anonymised need profile to ranked, explained providers.

The core is pure: functions of a profile, a directory snapshot, live figures and a time, with no
I/O. Imports go one way (tests/unit/test_import_direction.py):

``comparisons`` (kinds of comparison, age bands, bitmasks) -> ``eligibility`` (the registry of
attributes) -> ``profile``, ``directory`` (the snapshot) ->
``filters`` -> ``selection`` -> ``explain`` (texts, "nothing fits") -> ``scoring`` -> ``reasons``
-> ``engine`` (select, then rank); ``privacy`` (with its detectors
``identifiers``, ``identity`` and ``person_names``), ``live``, ``bundles`` and ``geodesy`` are leaves.
``services`` (with ``reader``) and ``controllers`` are the thin database and HTTP adapters around it.
"""
