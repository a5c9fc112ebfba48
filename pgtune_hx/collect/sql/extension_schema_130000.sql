-- extension_schema, PostgreSQL 13+: where an extension lives and its installed
-- version (pg_extension has not changed since 9.1).
select n.nspname as schema, e.extversion as version,
       has_schema_privilege(n.oid, 'USAGE') as usable
  from pg_extension e
  join pg_namespace n on n.oid = e.extnamespace
 where e.extname = %(name)s
