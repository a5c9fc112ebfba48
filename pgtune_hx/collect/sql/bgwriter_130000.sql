-- bgwriter, PostgreSQL 13-16: the background writer's columns of pg_stat_bgwriter.
-- buffers_backend/buffers_backend_fsync (backends writing their own buffers) exist
-- only here; from 16 pg_stat_io has them, and 17 drops them. The checkpoint
-- columns of this view are in the checkpointer section.
select b.buffers_clean, b.maxwritten_clean, b.buffers_alloc, b.buffers_backend,
       b.buffers_backend_fsync, b.stats_reset
  from pg_stat_bgwriter b
