-- One relation by schema and name: size figures, columns with their types and
-- collations, and the definition when it is a view (for query facts).
select n.nspname as schema,
       c.relname as name,
       c.oid::int8 as oid,
       c.relkind::text as relkind,
       greatest(c.reltuples, 0)::float8 as reltuples,
       c.relpages::int8 as relpages,
       c.relallvisible::int8 as relallvisible,
       case when c.relkind in ('r', 'm', 'p') then pg_table_size(c.oid) end as table_bytes,
       case when c.relkind = 'v' then pg_get_viewdef(c.oid) end as view_sql,
       coalesce(
         (select json_agg(json_build_object(
                    'name', a.attname,
                    'type', format_type(a.atttypid, a.atttypmod),
                    'typname', t.typname,
                    'typcategory', t.typcategory,
                    'typlen', t.typlen,
                    'notnull', a.attnotnull,
                    'collation', co.collname) order by a.attnum)
            from pg_attribute a
            join pg_type t on t.oid = a.atttypid
            left join pg_collation co on co.oid = a.attcollation
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
         '[]') as columns
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = %(schema)s
   and c.relname = %(name)s
