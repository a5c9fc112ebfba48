-- Up to 16 the checkpoint counters live in pg_stat_bgwriter.
select checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time,
       buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend, buffers_alloc,
       stats_reset
  from pg_stat_bgwriter
