-- Is a relation name already used in a schema (index names share the namespace)?
select exists (
  select 1
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = %(schema)s
     and c.relname = %(name)s
) as taken
