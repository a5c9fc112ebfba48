-- io, PostgreSQL 16-17: pg_stat_io (new in 16), one row per backend type, object and
-- context; op_bytes is the size of one operation (block size). Rows that never did
-- anything are kept: a zero is information too.
select i.backend_type, i.object, i.context, i.reads, i.read_time, i.writes, i.write_time,
       i.writebacks, i.writeback_time, i.extends, i.extend_time, i.op_bytes, i.hits,
       i.evictions, i.reuses, i.fsyncs, i.fsync_time, i.stats_reset
  from pg_stat_io i
