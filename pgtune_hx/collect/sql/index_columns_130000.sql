-- index_columns, PostgreSQL 13+: the table columns that user indexes on plain
-- columns use (name, name quoted as quote_ident does, collation), to print those
-- index definitions the way pg_get_indexdef does. Only the columns indexes name:
-- a wide table contributes its few indexed columns, not all of them. No relation
-- is opened.
select k.indrelid as relid, k.attnum, a.attname, quote_ident(a.attname) as quoted,
       a.attcollation as collation
  from (select distinct x.indrelid, u.attnum
          from pg_index x
          join pg_class c on c.oid = x.indrelid
          join pg_namespace n on n.oid = c.relnamespace
          cross join lateral unnest(x.indkey::int2[]) u(attnum)
         where x.indexprs is null and u.attnum > 0
           and n.nspname not in ('pg_catalog', 'information_schema')
           and n.nspname !~ '^pg_toast') k
  join pg_attribute a on a.attrelid = k.indrelid and a.attnum = k.attnum
