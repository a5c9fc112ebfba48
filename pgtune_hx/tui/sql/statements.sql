-- statements for every refresh: pg_stat_statements counters without the query text
-- (showtext false: the server does not read its text file each time), the entries
-- with the most total time first. Column names and types as in the collectors'
-- statements section; texts are fetched once per entry (statement_texts.sql).
-- Either every database's entries or only the connected database's (all_databases).
-- {schema} is the extension's schema, passed as an identifier.
select s.userid::int8 as userid, r.rolname, s.dbid::int8 as dbid, d.datname,
       s.queryid::text as queryid, s.toplevel, s.calls, s.plans, s.total_exec_time,
       s.total_plan_time, s.mean_exec_time, s.rows, s.shared_blks_hit, s.shared_blks_read,
       s.shared_blks_dirtied, s.shared_blks_written, s.temp_blks_read, s.temp_blks_written,
       s.wal_bytes
  from {schema}.pg_stat_statements(false) s
  left join pg_database d on d.oid = s.dbid
  left join pg_roles r on r.oid = s.userid
 where %(all_databases)s or d.datname = current_database()
 order by s.total_exec_time + s.total_plan_time desc
 limit %(limit)s
