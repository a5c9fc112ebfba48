select n.nspname
  from pg_extension e join pg_namespace n on n.oid = e.extnamespace
 where e.extname = %(name)s
