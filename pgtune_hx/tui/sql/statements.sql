-- pg_stat_statements counters without the query text (showtext false keeps the
-- server from reading the text file every tick); texts are fetched once per entry.
-- {schema} is the extension's schema, passed as an identifier.
select s.userid, s.dbid, s.queryid, s.toplevel, d.datname, r.rolname, s.calls, s.plans,
       s.total_exec_time, s.total_plan_time, s.mean_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
       s.temp_blks_read, s.temp_blks_written, s.wal_bytes
  from {schema}.pg_stat_statements(false) s
  left join pg_database d on d.oid = s.dbid
  left join pg_roles r on r.oid = s.userid
 order by s.total_exec_time + s.total_plan_time desc
 limit %(limit)s
