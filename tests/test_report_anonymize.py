"""--anonymize: literals become parameters, names become stable pseudonyms."""

from __future__ import annotations

import pytest

from pgtune_hx.report.anonymize import WITHHELD, Anonymizer, anonymize_inputs
from tests.test_report_golden import fixture_inputs


def _anon() -> Anonymizer:
    anon = Anonymizer(b"test key")
    for kind, name in (("schema", "gateway"), ("table", "usage_logs"), ("index", "logs_idx")):
        anon.learn(kind, name)
    return anon


def test_statement_literals_and_names_are_replaced() -> None:
    anon = _anon()
    out = anon.sql(
        "select u.key_id, 'sk-live-123' from gateway.usage_logs u "
        "where u.created_at > now() - interval '1 day' and note = 'Alice'"
    )
    for secret in ("sk-live-123", "Alice", "1 day", "usage_logs", "gateway", "key_id", "note"):
        assert secret not in out
    assert "now()" in out  # built-in functions keep their names
    assert anon.name("table", "usage_logs") in out


def test_utility_statements_lose_their_literals_too() -> None:
    out = _anon().sql("create index logs_idx on gateway.usage_logs (status) where code = 'E42'")
    assert "E42" not in out
    assert "logs_idx" not in out
    assert "WHERE" in out


def test_pseudonyms_are_stable_and_keyed() -> None:
    a, b, other = Anonymizer(b"k1"), Anonymizer(b"k1"), Anonymizer(b"k2")
    assert a.name("table", "orders") == b.name("table", "orders")
    assert a.name("table", "orders") != other.name("table", "orders")
    assert a.name("table", "orders") != a.name("column", "orders")
    assert a.name("schema", "public") == "public"
    assert a.name("database", "postgres") == "postgres"


def test_unparseable_statement_is_withheld() -> None:
    assert _anon().sql("select * from usage_logs where x = 'trunc") == WITHHELD


def test_free_text_replaces_whole_words_only() -> None:
    anon = _anon()
    text = anon.text("dead tuples on gateway.usage_logs; usage_logs_archive stays")
    assert "gateway" not in text and " usage_logs;" not in text
    assert "usage_logs_archive" in text


@pytest.mark.parametrize("version", ["pg18", "pg15"])
def test_fixture_inputs_keep_no_object_name(version: str) -> None:
    inputs = anonymize_inputs(fixture_inputs(version), key=b"k")
    names = {"orders", "customers", "orders_customer_idx", "orders_customer_idx2"}
    for section in inputs.snapshot.sections.values():
        for row in section.rows:
            for value in row.values():
                assert not (isinstance(value, str) and value in names)
    for finding in inputs.findings or []:
        assert not any(n in str(finding) for n in ("orders_customer_idx", "public.orders"))
