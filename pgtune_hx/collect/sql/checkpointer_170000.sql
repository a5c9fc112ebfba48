-- checkpointer, PostgreSQL 17: pg_stat_checkpointer is new (split out of
-- pg_stat_bgwriter) and adds restartpoint counters for standbys.
select c.num_timed, c.num_requested, c.restartpoints_timed, c.restartpoints_req,
       c.restartpoints_done, c.write_time, c.sync_time, c.buffers_written, c.stats_reset
  from pg_stat_checkpointer c
