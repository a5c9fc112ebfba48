-- The pg_stat_statements rows of one query id in one database.
select s.userid::int8 as userid, s.dbid::int8 as dbid, s.queryid::text as queryid,
       s.toplevel, r.rolname, s.calls, s.total_exec_time, s.mean_exec_time,
       s.min_exec_time, s.max_exec_time, s.stddev_exec_time, s.rows, s.shared_blks_hit,
       s.shared_blks_read, s.temp_blks_written, s.query
  from {schema}.pg_stat_statements(true) s
  left join pg_roles r on r.oid = s.userid
 where s.queryid = %(queryid)s::int8 and s.dbid = %(dbid)s::oid
