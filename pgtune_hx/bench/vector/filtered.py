"""Filtered search: ``WHERE u < s`` for a range of selectivities s, with and
without pgvector 0.8's iterative index scans.

Without iterative scans an HNSW scan finds ef_search candidates and the
filter runs after it, so at selectivity s only about s * ef_search rows
survive: results come back short and recall drops. IVFFlat does the same
with the rows of its probed lists. ``hnsw.iterative_scan`` and
``ivfflat.iterative_scan`` make the scan continue until LIMIT is met (up to
hnsw.max_scan_tuples / ivfflat.max_probes). The planner is told to avoid
sequential scans (enable_seqscan = off, as in every pass, recorded) because
the question is what the *index* returns; a plan without it is still flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgtune_hx.bench.vector.groundtruth import Neighbors, exact_knn
from pgtune_hx.bench.vector.lab import Lab
from pgtune_hx.bench.vector.recommend import Evaluation
from pgtune_hx.bench.vector.sweep import ITERATIVE_PARAM, QuerySet, Searcher, SweepPoint

SELECTIVITIES = (0.5, 0.1, 0.02)
MODES = {"hnsw": ("off", "relaxed_order", "strict_order"), "ivfflat": ("off", "relaxed_order")}
FILTER_QUERIES = 200


@dataclass
class FilteredPoint:
    selectivity: float
    iterative_scan: str
    point: SweepPoint
    unfiltered_recall: float

    def to_dict(self) -> dict[str, object]:
        p = self.point
        recall = p.observed_recall if p.plan.uses_index else None
        return {
            "selectivity": self.selectivity,
            "iterative_scan": self.iterative_scan,
            "index": p.config.label,
            "param": p.param,
            "value": p.value,
            "valid": p.plan.uses_index,
            "flags": p.flags,
            "recall": recall,
            "recall_loss": None if recall is None else self.unfiltered_recall - recall,
            "short_results": p.short_results,
            "queries": p.queries,
            "latency": p.latency,
            "qps": p.qps,
        }


def filtered_truth(lab: Lab, queries: np.ndarray, selectivity: float) -> Neighbors | None:
    """Exact neighbours among the rows the filter keeps; None if fewer than k."""
    keep = np.flatnonzero(lab.filter_values.astype(np.float64) < selectivity)
    if len(keep) < lab.k:
        return None
    sub = exact_knn(queries, lab.dataset.train[keep], lab.k, lab.dataset.metric)
    return Neighbors(keep[sub.ids], sub.distances)


def filtered_sweep(
    lab: Lab,
    evaluation: Evaluation,
    searcher: Searcher,
    selectivities: tuple[float, ...] = SELECTIVITIES,
) -> list[FilteredPoint]:
    chosen = evaluation.chosen
    if chosen is None or chosen.recall is None:
        return []
    config = evaluation.config
    vectors = lab.tables["items"].tuning.vectors[:FILTER_QUERIES]
    out = []
    lab.progress.task(f"filtered search on {config.label}", total=len(selectivities))
    for selectivity in selectivities:
        truth = filtered_truth(lab, vectors, selectivity)
        if truth is None:
            continue
        queries = QuerySet("tuning", vectors, truth)
        for mode in MODES[config.kind]:
            point = searcher.run(
                config,
                chosen.value,
                queries,
                selectivity=selectivity,
                extra_settings={ITERATIVE_PARAM[config.kind]: mode},
                short_is_flag=False,
            )
            out.append(FilteredPoint(selectivity, mode, point, chosen.recall.mean))
        lab.progress.advance()
    # leave the session as the unfiltered sweeps expect it
    searcher.apply({ITERATIVE_PARAM[config.kind]: "off"})
    return out
