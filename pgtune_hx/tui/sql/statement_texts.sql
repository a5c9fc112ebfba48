-- Texts of the pg_stat_statements entries the monitor has not seen yet.
select s.userid::int8 as userid, s.dbid::int8 as dbid, s.queryid::text as queryid,
       s.toplevel, s.query
  from {schema}.pg_stat_statements(true) s
 where s.queryid = any(%(queryids)s)
