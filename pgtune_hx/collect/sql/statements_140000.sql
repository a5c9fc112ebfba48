-- statements, pg_stat_statements 1.9 (PostgreSQL 14): adds toplevel (a statement
-- run inside a function is a separate entry when pg_stat_statements.track = all)
-- and the pg_stat_statements_info view (dealloc, stats_reset).
-- blk_read_time/blk_write_time are reported under their 17 names
-- shared_blk_read_time/shared_blk_write_time (they always measured shared+local).
select s.userid::int8 as userid, r.rolname, s.dbid::int8 as dbid, d.datname, s.queryid::text as queryid,
       s.toplevel, s.query,
       s.plans, s.total_plan_time, s.min_plan_time, s.max_plan_time, s.mean_plan_time,
       s.stddev_plan_time,
       s.calls, s.total_exec_time, s.min_exec_time, s.max_exec_time, s.mean_exec_time,
       s.stddev_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
       s.local_blks_hit, s.local_blks_read, s.local_blks_dirtied, s.local_blks_written,
       s.temp_blks_read, s.temp_blks_written,
       s.blk_read_time as shared_blk_read_time, s.blk_write_time as shared_blk_write_time,
       s.wal_records, s.wal_fpi, s.wal_bytes
  from {schema}.pg_stat_statements s
  left join pg_database d on d.oid = s.dbid
  left join pg_roles r on r.oid = s.userid
