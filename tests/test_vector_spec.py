"""--dataset parsing: valid forms, clear errors, and no other exception."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgtune_hx.bench.vector.spec import DatasetSpec, Source, parse_dataset
from pgtune_hx.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("synthetic", DatasetSpec(Source.synthetic)),
        (" GloVe-50 ", DatasetSpec(Source.glove)),
        (
            "hdf5:/data/sift-128-euclidean.hdf5",
            DatasetSpec(Source.hdf5, path="/data/sift-128-euclidean.hdf5"),
        ),
        (
            "table:public.docs.embedding",
            DatasetSpec(Source.table, schema="public", table="docs", column="embedding"),
        ),
        (
            'table:"My.Schema"."Docs"""."Emb"',
            DatasetSpec(Source.table, schema="My.Schema", table='Docs"', column="Emb"),
        ),
        (
            "table:Public.Docs.Emb",
            DatasetSpec(Source.table, schema="public", table="docs", column="emb"),
        ),
    ],
)
def test_valid_specs(text: str, expected: DatasetSpec) -> None:
    got = parse_dataset(text)
    assert (got.source, got.schema, got.table, got.column) == (
        expected.source, expected.schema, expected.table, expected.column,
    )  # fmt: skip
    if expected.path:
        assert got.path == expected.path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sift", "unknown dataset"),
        ("hdf5:", "needs a file name"),
        ("table:docs.embedding", "SCHEMA.TABLE.COLUMN"),
        ('table:"unterminated.t.c', "unterminated"),
        ("table:a..c", "empty identifier"),
        ('table:a"b.t.c', "stray quote"),
    ],
)
def test_invalid_specs_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_dataset(text)


@given(st.text(max_size=60))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        spec = parse_dataset(text)
    except UsageError:
        return
    assert isinstance(spec.source, Source)


names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=12,
)


@given(names, names, names)
def test_table_specs_round_trip_through_their_text(schema: str, table: str, column: str) -> None:
    spec = DatasetSpec(Source.table, schema=schema, table=table, column=column)
    again = parse_dataset(str(spec))
    assert (again.schema, again.table, again.column) == (schema, table, column)
