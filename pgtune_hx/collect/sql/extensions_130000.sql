-- extensions, PostgreSQL 13+: pg_extension with the version the server could
-- update it to (pg_available_extensions.default_version).
select e.extname, e.extversion, n.nspname as schema, e.extrelocatable,
       a.default_version, a.default_version is distinct from e.extversion
           as update_available
  from pg_extension e
  join pg_namespace n on n.oid = e.extnamespace
  left join pg_available_extensions a on a.name = e.extname
 order by e.extname
