-- The database's top-level statements by total execution time, and how long
-- pg_stat_statements has been collecting (pg_stat_statements_info, 14+).
select s.queryid::text as queryid,
       s.query,
       s.calls::int8 as calls,
       s.total_exec_time::float8 as total_exec_time,
       s.mean_exec_time::float8 as mean_exec_time,
       s.rows::int8 as rows,
       extract(epoch from now() - coalesce(
         (select stats_reset from pg_stat_statements_info),
         pg_postmaster_start_time()))::float8 as window_s
  from pg_stat_statements s
  join pg_database d on d.oid = s.dbid
 where d.datname = current_database()
   and s.toplevel
   and s.calls >= %(min_calls)s
 order by s.total_exec_time desc
 limit %(limit)s
