-- PG 15-16: checkpoint counters live in pg_stat_bgwriter.
select checkpoints_timed as timed,
       checkpoints_req as requested,
       stats_reset
from pg_stat_bgwriter
