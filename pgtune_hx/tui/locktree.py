"""The blocking tree, from pg_blocking_pids() of each waiting session.

Edges go from a blocker to the sessions it blocks. A root blocker blocks others
and waits for nobody; it is what a DBA cancels. pg_blocking_pids() also names
sessions ahead in the lock queue (a waiter can block a later waiter), so chains
are common and one session may wait for several others: it is drawn once per
tree, under the first blocker found breadth-first, and lists the others.
Counting the distinct sessions behind a root (not the edges) keeps the number
right with many waiters. Sessions that only wait on each other (a deadlock the
detector has not broken yet) form a tree rooted at their lowest pid, marked as
a cycle. Pid 0 is a prepared transaction (PostgreSQL reports it so).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LockNode:
    pid: int
    depth: int
    parent: int | None
    # blockers of this session other than the parent it is drawn under
    also_blocked_by: tuple[int, ...]
    # distinct sessions waiting on this one, directly or behind others
    waiting_behind: int
    children: tuple[LockNode, ...]
    cycle: bool = False

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def prepared_xact(self) -> bool:
        return self.pid == 0


def _waiters(blocked_by: Mapping[int, Sequence[int]]) -> dict[int, list[int]]:
    waiters: dict[int, set[int]] = {}
    for waiter, blockers in blocked_by.items():
        for blocker in blockers:
            if blocker != waiter:
                waiters.setdefault(blocker, set()).add(waiter)
    return {blocker: sorted(found) for blocker, found in waiters.items()}


def _reach(pid: int, waiters: Mapping[int, list[int]]) -> int:
    seen = {pid}
    queue = deque([pid])
    while queue:
        for nxt in waiters.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return len(seen) - 1


def _tree(
    root: int,
    waiters: Mapping[int, list[int]],
    blocked_by: Mapping[int, Sequence[int]],
    behind: dict[int, int],
    *,
    cycle: bool,
) -> tuple[LockNode, set[int]]:
    # breadth-first: each session at its shallowest depth, under its first blocker
    parent_of: dict[int, int | None] = {root: None}
    depth_of = {root: 0}
    order = [root]
    queue = deque([root])
    while queue:
        current = queue.popleft()
        for nxt in waiters.get(current, ()):
            if nxt not in parent_of:
                parent_of[nxt] = current
                depth_of[nxt] = depth_of[current] + 1
                order.append(nxt)
                queue.append(nxt)
    children_of: dict[int, list[int]] = {}
    for pid in order[1:]:
        parent = parent_of[pid]
        assert parent is not None
        children_of.setdefault(parent, []).append(pid)

    def behind_of(pid: int) -> int:
        if pid not in behind:
            behind[pid] = _reach(pid, waiters)
        return behind[pid]

    def node(pid: int) -> LockNode:
        kids = sorted(children_of.get(pid, ()), key=lambda p: (-behind_of(p), p))
        parent = parent_of[pid]
        others = tuple(b for b in blocked_by.get(pid, ()) if b != parent and b != pid)
        return LockNode(
            pid=pid,
            depth=depth_of[pid],
            parent=parent,
            also_blocked_by=others if parent is not None else tuple(blocked_by.get(pid, ())),
            waiting_behind=behind_of(pid),
            children=tuple(node(k) for k in kids),
            cycle=cycle and parent is None,
        )

    return node(root), set(order)


def build_forest(blocked_by: Mapping[int, Sequence[int]]) -> tuple[LockNode, ...]:
    """Root blockers first (most sessions waiting behind them), each with its tree.

    >>> [(n.pid, n.waiting_behind) for n in build_forest({2: [1], 3: [2], 4: [1]})]
    [(1, 3)]
    """
    blocked_by = {pid: tuple(b) for pid, b in blocked_by.items() if b}
    waiters = _waiters(blocked_by)
    waiting = set(blocked_by)
    behind: dict[int, int] = {}
    roots = sorted(set(waiters) - waiting)
    trees: list[LockNode] = []
    covered: set[int] = set()
    for root in roots:
        tree, members = _tree(root, waiters, blocked_by, behind, cycle=False)
        trees.append(tree)
        covered |= members
    # what is left waits only on itself: cycles
    while True:
        left = sorted(pid for pid in waiting if pid not in covered and pid in waiters)
        if not left:
            break
        tree, members = _tree(left[0], waiters, blocked_by, behind, cycle=True)
        trees.append(tree)
        covered |= members
    trees.sort(key=lambda n: (-n.waiting_behind, n.pid))
    return tuple(trees)


def walk(forest: Sequence[LockNode]) -> Iterator[LockNode]:
    """Every node, depth first, in display order."""
    for tree in forest:
        yield tree
        yield from walk(tree.children)


def root_of(forest: Sequence[LockNode], pid: int) -> int | None:
    """The root blocker of the tree that holds ``pid`` first."""
    for tree in forest:
        if any(node.pid == pid for node in walk([tree])):
            return tree.pid
    return None


def tree_lines(forest: Sequence[LockNode]) -> list[tuple[LockNode, str]]:
    """Each node with its box-drawing prefix, in display order.

    >>> [p + str(n.pid) for n, p in tree_lines(build_forest({2: [1], 3: [2], 4: [1]}))]
    ['1', '├─ 2', '│  └─ 3', '└─ 4']
    """
    lines: list[tuple[LockNode, str]] = []

    def visit(node: LockNode, lead: str, last: bool, top: bool) -> None:
        lines.append((node, "" if top else lead + ("└─ " if last else "├─ ")))
        child_lead = "" if top else lead + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            visit(child, child_lead, i == len(node.children) - 1, False)

    for tree in forest:
        visit(tree, "", True, True)
    return lines
