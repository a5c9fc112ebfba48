-- checkpointer, PostgreSQL 13-16: the checkpoint columns of pg_stat_bgwriter, under
-- the names pg_stat_checkpointer gives them from 17 (checkpoints_timed -> num_timed,
-- checkpoints_req -> num_requested, checkpoint_write_time -> write_time,
-- checkpoint_sync_time -> sync_time, buffers_checkpoint -> buffers_written), so
-- the analysis reads one set of names. stats_reset is the shared bgwriter reset.
select b.checkpoints_timed as num_timed, b.checkpoints_req as num_requested,
       b.checkpoint_write_time as write_time, b.checkpoint_sync_time as sync_time,
       b.buffers_checkpoint as buffers_written, b.stats_reset
  from pg_stat_bgwriter b
