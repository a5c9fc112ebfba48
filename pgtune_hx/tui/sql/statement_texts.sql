-- Texts of the entries the screen has not seen yet.
select s.userid, s.dbid, s.queryid, s.toplevel, s.query
  from {schema}.pg_stat_statements(true) s
 where s.queryid = any(%(queryids)s)
