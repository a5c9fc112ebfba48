-- statements, pg_stat_statements 1.11 (PostgreSQL 17): blk_read_time/blk_write_time
-- renamed shared_blk_read_time/shared_blk_write_time, local_blk_read_time and
-- local_blk_write_time added, jit_deform_count/jit_deform_time added, and
-- stats_since/minmax_stats_since (when the entry, and its min/max, started counting).
select s.userid::int8 as userid, r.rolname, s.dbid::int8 as dbid, d.datname, s.queryid::text as queryid,
       s.toplevel, s.query,
       s.plans, s.total_plan_time, s.min_plan_time, s.max_plan_time, s.mean_plan_time,
       s.stddev_plan_time,
       s.calls, s.total_exec_time, s.min_exec_time, s.max_exec_time, s.mean_exec_time,
       s.stddev_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
       s.local_blks_hit, s.local_blks_read, s.local_blks_dirtied, s.local_blks_written,
       s.temp_blks_read, s.temp_blks_written,
       s.shared_blk_read_time, s.shared_blk_write_time,
       s.local_blk_read_time, s.local_blk_write_time,
       s.temp_blk_read_time, s.temp_blk_write_time,
       s.wal_records, s.wal_fpi, s.wal_bytes,
       s.jit_functions, s.jit_generation_time, s.jit_inlining_count, s.jit_inlining_time,
       s.jit_optimization_count, s.jit_optimization_time, s.jit_emission_count,
       s.jit_emission_time, s.jit_deform_count, s.jit_deform_time,
       s.stats_since, s.minmax_stats_since
  from {schema}.pg_stat_statements s
  left join pg_database d on d.oid = s.dbid
  left join pg_roles r on r.oid = s.userid
