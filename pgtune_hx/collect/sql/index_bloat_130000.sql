-- index_bloat, PostgreSQL 13+: how many pages each btree index would need if
-- packed, estimated from the catalog (reltuples, relpages, fillfactor, default 90)
-- and the widths of its columns in pg_stats. Reads only catalogs and pg_stats.
-- An index tuple costs 8 bytes of header, its data aligned to 8 and a 4-byte line
-- pointer; a page offers block_size - 24 - 16 (btree special space) bytes, times
-- fillfactor; plus the metapage. Expression keys have no column statistics (the
-- estimate is null for them). Deduplication (13+) packs repeated keys tighter than
-- this, so the estimate errs towards too little bloat, never too much.
with bs as (select current_setting('block_size')::numeric as block_size),
idx as (
  select i.indexrelid, i.indrelid, n.nspname, ic.relname as indexrelname,
         tc.relname, ic.reltuples, ic.relpages, i.indkey::int2[] as indkey,
         coalesce((select substr(o, 12)::int from unnest(ic.reloptions) o
                    where o like 'fillfactor=%' limit 1), 90) as fillfactor
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_class tc on tc.oid = i.indrelid
    join pg_namespace n on n.oid = ic.relnamespace
    join pg_am am on am.oid = ic.relam
   where am.amname = 'btree'
     and n.nspname not in ('pg_catalog', 'information_schema')
     and n.nspname !~ '^pg_toast'
     and ic.relpages > 1
),
w as (
  select x.indexrelid,
         bool_and(k.attnum > 0) as plain_columns,
         count(s.avg_width) = count(*) as all_stats,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) as data_width,
         bool_or(coalesce(s.null_frac, 0) > 0) as has_nulls
    from idx x
    cross join lateral unnest(x.indkey) k(attnum)
    left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
    left join pg_stats s on s.schemaname = x.nspname and s.tablename = x.relname
                        and s.attname = a.attname and not s.inherited
   group by x.indexrelid
)
select x.indexrelid::int8 as indexrelid, x.indrelid::int8 as relid, x.nspname as schemaname,
       x.relname, x.indexrelname, x.reltuples, x.relpages, x.fillfactor,
       round(w.data_width::numeric, 1)::float8 as data_width,
       (8 + case when w.has_nulls then 8 else 0 end
          + ceil(w.data_width / 8.0) * 8 + 4)::int as tuple_bytes,
       case when w.plain_columns and w.all_stats and x.reltuples >= 0
            then 1 + ceil(x.reltuples * (8 + case when w.has_nulls then 8 else 0 end
                                           + ceil(w.data_width / 8.0) * 8 + 4)
                          / ((bs.block_size - 40) * x.fillfactor / 100))::int8 end
           as expected_pages,
       bs.block_size::int as block_size
  from idx x
  join w on w.indexrelid = x.indexrelid
  cross join bs
 order by x.nspname, x.relname, x.indexrelname
