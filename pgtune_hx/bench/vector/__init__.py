"""pgvector benchmark: datasets, exact ground truth, index builds, query sweeps
and a recommendation for a target recall.

Data flows: datasets -> groundtruth -> scratch (tables in a throwaway schema)
-> build (timed CREATE INDEX) -> sweep (recall and latency per search setting)
-> recommend (adaptive search, Pareto frontier) -> results (JSON, CSV).
"""
