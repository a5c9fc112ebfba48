"""The interactive monitor (Textual).

Headless parts, importable without textual: ``model`` (deltas, rates, the
View), ``locktree``, ``link`` (reconnect backoff, staleness), ``live`` (the
monitor's own cheap queries), ``replay``, ``detail`` (session detail, plans,
signals), ``findings`` and ``fmt``. Textual lives in ``app``, ``messages``
and ``screens``.
"""
