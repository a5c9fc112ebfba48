-- 17 split the checkpoint counters out of pg_stat_bgwriter into pg_stat_checkpointer.
select num_timed, num_requested, write_time, sync_time, buffers_written, stats_reset
  from pg_stat_checkpointer
