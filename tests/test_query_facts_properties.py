"""Property tests: generated statements give exactly their facts; garbage gives a clear error."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.workload_sql import statements
from pgtune_hx.analyze.query import extract_facts
from pgtune_hx.analyze.query_model import QueryFacts
from pgtune_hx.errors import InvalidSQL, PgtuneError

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ident = st.from_regex(r"[a-z]{1,8}", fullmatch=True).map(lambda s: f"c_{s}")
OPS = ["=", "<", ">", "<=", ">=", "<>", "LIKE", "IN", "IS NULL", "@>", "ILIKE"]
EXPECTED_OP = {"IN": "IN"}


@dataclass(frozen=True)
class Cond:
    column: str
    op: str
    value: str  # "param", "int", "str"


@st.composite
def conditions(draw: st.DrawFn) -> Cond:
    return Cond(
        draw(ident), draw(st.sampled_from(OPS)), draw(st.sampled_from(["param", "int", "str"]))
    )


@dataclass
class Built:
    sql: str
    expected: set[tuple[str, str, bool]]
    order: list[tuple[str, bool, bool | None]]
    limit: int | None
    params: int


@st.composite
def selects(draw: st.DrawFn) -> Built:
    table = draw(ident).replace("c_", "t_")
    conds = draw(st.lists(conditions(), min_size=1, max_size=6))
    or_groups = draw(st.lists(st.booleans(), min_size=len(conds), max_size=len(conds)))
    n = 0
    parts: list[str] = []
    expected: set[tuple[str, str, bool]] = set()
    i = 0
    while i < len(conds):
        group = [conds[i]]
        if or_groups[i] and i + 1 < len(conds):
            group.append(conds[i + 1])
            i += 1
        i += 1
        texts = []
        for c in group:
            if c.op == "IS NULL":
                value = ""
            elif c.value == "param":
                n += 1
                value = f"${n}"
            elif c.value == "int":
                value = "42"
            else:
                value = "'x%y'"
            col = f"a.{c.column}"
            if c.op == "IS NULL":
                texts.append(f"{col} IS NULL")
            elif c.op == "IN":
                texts.append(f"{col} IN ({value}, {value})")
            else:
                texts.append(f"{col} {c.op} {value}")
            expected.add((c.column, c.op, len(group) > 1))
        parts.append(texts[0] if len(texts) == 1 else "(" + " OR ".join(texts) + ")")
    order = draw(
        st.lists(
            st.tuples(ident, st.booleans(), st.sampled_from([None, True, False])),
            max_size=3,
        )
    )
    sql = f"SELECT a.id, a.{conds[0].column} FROM {table} a WHERE " + " AND ".join(parts)
    if order:
        items = []
        for col, desc, nulls in order:
            text = f"a.{col}" + (" DESC" if desc else " ASC")
            if nulls is not None:
                text += " NULLS FIRST" if nulls else " NULLS LAST"
            items.append(text)
        sql += " ORDER BY " + ", ".join(items)
    limit = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)))
    if limit is not None:
        sql += f" LIMIT {limit}"
    return Built(sql, expected, order, limit, n)


@SETTINGS
@given(selects())
def test_generated_select_gives_exactly_its_predicates(built: Built) -> None:
    facts = extract_facts(built.sql, search_path=["s"])
    got = {(p.target.column, p.operator, p.in_or) for p in facts.predicates}
    assert got == built.expected, built.sql
    assert all(p.table is not None and p.table.schema == "s" for p in facts.predicates)
    assert [
        (k.target.column if k.target else "", k.descending, k.nulls_first) for k in facts.order_by
    ] == built.order
    assert (facts.limit.count if facts.limit else None) == built.limit
    assert facts.params == built.params
    assert facts.is_read_only


def _outcome(sql: str) -> QueryFacts | PgtuneError:
    try:
        return extract_facts(sql)
    except PgtuneError as exc:
        return exc


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_gives_facts_or_a_clear_error(text: str) -> None:
    result = _outcome(text)
    if isinstance(result, PgtuneError):
        assert str(result) and "\n" not in str(result).strip()
    else:
        assert isinstance(result, QueryFacts)


CORPUS = statements(60, seed=3)


@SETTINGS
@given(
    st.sampled_from(CORPUS),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=20),
    st.text(alphabet="()',;$*%-/ \n\\\"abc1=<>", max_size=6),
)
def test_mutated_statements_never_crash(sql: str, at: int, cut: int, insert: str) -> None:
    at = min(at, len(sql))
    mutated = sql[:at] + insert + sql[at + cut :]
    result = _outcome(mutated)
    if isinstance(result, InvalidSQL):
        assert "invalid SQL" in str(result)
    else:
        assert isinstance(result, QueryFacts | PgtuneError)
