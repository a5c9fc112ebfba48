"""Redaction of passwords in DSNs, URIs and log records (property tests)."""

from __future__ import annotations

import contextlib
import importlib
import logging
import string
from collections.abc import Iterator

from hypothesis import assume, given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from pgtune_hx.db.redact import SecretFilter, display_dsn, redact, register_dsn

passwords = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%^&*()-_+=.,;:", min_size=4, max_size=30
)


@contextlib.contextmanager
def _registry_restored() -> Iterator[None]:
    """Registered secrets are process-wide: a generated one (Hypothesis also
    draws string constants of the code, "postgres" among them) must not leak
    into the next test."""
    module = importlib.import_module("pgtune_hx.db.redact")
    saved = set(module._secrets)
    try:
        yield
    finally:
        module._secrets.clear()
        module._secrets.update(saved)


@given(passwords)
def test_conninfo_password_is_hidden(password: str) -> None:
    assume("*" not in password)  # a password made of the mask itself is not a leak
    with _registry_restored():
        dsn = make_conninfo("", host="db.example", user="app", password=password, dbname="x")
        register_dsn(dsn)
        assert password not in display_dsn(dsn)
        assert password not in redact(f"failed to connect with {dsn}")


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=4, max_size=20))
def test_uri_password_is_hidden(password: str) -> None:
    uri = f"postgresql://app:{password}@db:5432/x"
    # a password such as 'post' also occurs in the scheme: not a leak
    assume(password not in uri.replace(password, ""))
    assert password not in redact(uri)
    assert redact(uri).startswith("postgresql://app:****@db")


def test_log_records_are_redacted(caplog: object) -> None:
    secret = "log-secret-123"
    register_dsn(f"host=x password={secret}")
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "dsn was %s", (f"pw {secret}",), None
    )
    SecretFilter().filter(record)
    assert secret not in record.getMessage()
    assert "****" in record.getMessage()
