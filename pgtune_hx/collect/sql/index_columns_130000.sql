-- index_columns, PostgreSQL 13+: the columns of every user table that has an index
-- on plain columns (name, name quoted as quote_ident does, collation), to print
-- those index definitions the way pg_get_indexdef does. Index lookups into
-- pg_attribute per table (a scan of all of pg_attribute costs more on big schemas);
-- no relation is opened.
select t.indrelid as relid, a.attnum, a.attname, quote_ident(a.attname) as quoted,
       a.attcollation as collation
  from (select distinct x.indrelid
          from pg_index x
          join pg_class c on c.oid = x.indrelid
          join pg_namespace n on n.oid = c.relnamespace
         where x.indexprs is null
           and n.nspname not in ('pg_catalog', 'information_schema')
           and n.nspname !~ '^pg_toast') t
  cross join lateral (
        select a.attnum, a.attname, a.attcollation
          from pg_attribute a
         where a.attrelid = t.indrelid and a.attnum > 0 and not a.attisdropped) a
