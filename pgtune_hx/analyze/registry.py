"""The rule registry: stable ids, one decorator, duplicates refused.

A rule is a small function named after what it finds. It takes the analysis
context and its thresholds as keyword-only parameters with documented
defaults, and yields findings::

    @rule("index.unused", severity=Severity.warning, title="Index never scanned",
          requires=("indexes",))
    def unused_indexes(ctx: Context, *, min_size_bytes: int = 1 << 20) -> Iterator[Finding]:
        '''... https://www.postgresql.org/docs/current/monitoring-stats.html'''

The severity belongs to the rule (a finding may raise or lower it only for a
documented reason, e.g. wraparound distance); the docstring must carry a link
to the PostgreSQL manual, which the generated catalogue (docs/rules/index.md)
shows next to the thresholds.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgtune_hx.analyze.findings import Finding, Severity
from pgtune_hx.errors import UsageError

if TYPE_CHECKING:
    from pgtune_hx.analyze.engine import Context

RuleFunc = Callable[..., Iterable[Finding]]

RULE_ID = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
MANUAL = re.compile(r"https://www\.postgresql\.org/docs/\S+")
TOPICS = ("index", "table", "workload", "server")
# One module per topic under pgtune_hx/analyze/rules/.
RULE_MODULES = (
    "pgtune_hx.analyze.rules.indexes",
    "pgtune_hx.analyze.rules.tables",
    "pgtune_hx.analyze.rules.workload",
    "pgtune_hx.analyze.rules.server",
)


class DuplicateRule(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    func: RuleFunc
    requires: tuple[str, ...] = ()
    thresholds: dict[str, Any] = field(default_factory=dict)
    manual: tuple[str, ...] = ()
    summary: str = ""

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def doc(self) -> str:
        """The rule's page, relative to the repository root."""
        return f"docs/rules/{self.id}.md"

    def run(self, ctx: Context, overrides: dict[str, Any]) -> list[Finding]:
        return list(self.func(ctx, **{**self.thresholds, **overrides}))


_RULES: dict[str, Rule] = {}


def _thresholds(func: RuleFunc) -> dict[str, Any]:
    found: dict[str, Any] = {}
    params = list(inspect.signature(func).parameters.values())
    for param in params[1:]:
        if param.kind is not inspect.Parameter.KEYWORD_ONLY or param.default is param.empty:
            raise TypeError(
                f"{func.__qualname__}: threshold {param.name!r} must be keyword-only with a default"
            )
        found[param.name] = param.default
    return found


def rule(
    rule_id: str,
    *,
    severity: Severity,
    title: str,
    requires: tuple[str, ...] = (),
) -> Callable[[RuleFunc], RuleFunc]:
    """Register ``func`` under ``rule_id``; a second registration of an id is an error."""
    if not RULE_ID.match(rule_id) or rule_id.split(".", 1)[0] not in TOPICS:
        raise ValueError(f"bad rule id {rule_id!r}: <topic>.<name>, topic in {TOPICS}")

    def register(func: RuleFunc) -> RuleFunc:
        if rule_id in _RULES:
            other = _RULES[rule_id].func
            raise DuplicateRule(
                f"rule id {rule_id!r} registered twice: {other.__module__}.{other.__qualname__} "
                f"and {func.__module__}.{func.__qualname__}"
            )
        doc = inspect.getdoc(func) or ""
        manual = tuple(dict.fromkeys(MANUAL.findall(doc)))
        if not manual:
            raise ValueError(f"rule {rule_id}: the docstring must link the PostgreSQL manual")
        _RULES[rule_id] = Rule(
            id=rule_id,
            severity=severity,
            title=title,
            func=func,
            requires=requires,
            thresholds=_thresholds(func),
            manual=manual,
            summary=doc.split("\n\n", 1)[0].replace("\n", " ").strip(),
        )
        return func

    return register


def load_rules() -> None:
    for name in RULE_MODULES:
        importlib.import_module(name)


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by id."""
    load_rules()
    return [_RULES[k] for k in sorted(_RULES)]


def get_rule(rule_id: str) -> Rule:
    load_rules()
    try:
        return _RULES[rule_id]
    except KeyError:
        raise UsageError(f"unknown rule id {rule_id!r} (see docs/rules/index.md)") from None


def select_rules(patterns: Iterable[str] | None) -> list[Rule]:
    """Rules by id; ``index`` or ``index.*`` selects a topic. None selects all."""
    rules = all_rules()
    wanted = [p.strip() for p in (patterns or []) if p.strip()]
    if not wanted:
        return rules
    chosen: dict[str, Rule] = {}
    for pattern in wanted:
        prefix = pattern[:-2] if pattern.endswith(".*") else pattern
        if prefix in TOPICS:
            for r in rules:
                if r.topic == prefix:
                    chosen[r.id] = r
        else:
            r = get_rule(pattern)
            chosen[r.id] = r
    return [chosen[k] for k in sorted(chosen)]
