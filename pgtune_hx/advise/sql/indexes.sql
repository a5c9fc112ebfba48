-- Existing indexes of a table with their definitions (parsed with pglast).
select i.indexrelid::int8 as oid,
       ic.relname as name,
       pg_get_indexdef(i.indexrelid) as definition,
       i.indisvalid as valid,
       i.indisunique as is_unique,
       i.indisprimary as is_primary,
       am.amname as method,
       pg_relation_size(i.indexrelid) as bytes
  from pg_index i
  join pg_class ic on ic.oid = i.indexrelid
  join pg_am am on am.oid = ic.relam
 where i.indrelid = %(oid)s
 order by ic.relname
