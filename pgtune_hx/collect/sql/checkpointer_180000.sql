-- checkpointer, PostgreSQL 18+: adds num_done (checkpoints actually completed) and
-- slru_written (SLRU buffers written by checkpoints).
select c.num_timed, c.num_requested, c.num_done, c.restartpoints_timed,
       c.restartpoints_req, c.restartpoints_done, c.write_time, c.sync_time,
       c.buffers_written, c.slru_written, c.stats_reset
  from pg_stat_checkpointer c
