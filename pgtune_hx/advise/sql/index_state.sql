-- State of an index by schema and name after a CREATE INDEX CONCURRENTLY.
select i.indisvalid as valid, pg_relation_size(c.oid) as bytes
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_index i on i.indexrelid = c.oid
 where n.nspname = %(schema)s
   and c.relname = %(name)s
