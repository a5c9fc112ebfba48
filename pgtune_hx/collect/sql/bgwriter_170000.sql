-- bgwriter, PostgreSQL 17+: pg_stat_bgwriter keeps only the background writer
-- (checkpoints moved to pg_stat_checkpointer; buffers_backend* are gone: see io).
select b.buffers_clean, b.maxwritten_clean, b.buffers_alloc, b.stats_reset
  from pg_stat_bgwriter b
