-- PG 17+: checkpoint counters moved to pg_stat_checkpointer (num_timed, num_requested).
select num_timed as timed,
       num_requested as requested,
       stats_reset
from pg_stat_checkpointer
