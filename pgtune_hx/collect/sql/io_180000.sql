-- io, PostgreSQL 18+: op_bytes replaced by read_bytes, write_bytes and extend_bytes
-- (WAL I/O has other sizes); the 'wal' object appears.
select i.backend_type, i.object, i.context, i.reads, i.read_bytes, i.read_time, i.writes,
       i.write_bytes, i.write_time, i.writebacks, i.writeback_time, i.extends,
       i.extend_bytes, i.extend_time, i.hits, i.evictions, i.reuses, i.fsyncs,
       i.fsync_time, i.stats_reset
  from pg_stat_io i
