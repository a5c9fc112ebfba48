-- table_bloat, PostgreSQL 13+: how many pages each table would need if packed,
-- estimated from the catalog (reltuples, relpages, fillfactor) and the planner
-- statistics (pg_stats: null_frac, avg_width per column). Reads only catalogs and
-- pg_stats: no lock on the tables, no I/O on them.
-- A heap tuple costs its header (23 bytes, plus a null bitmap when a column has
-- nulls, aligned to 8), its data (the average widths, aligned to 8) and a 4-byte
-- line pointer; a page offers block_size - 24 bytes, times fillfactor.
-- stats_columns < columns: some columns were never analyzed, the estimate is weak.
with bs as (select current_setting('block_size')::numeric as block_size),
tbl as (
  select c.oid, n.nspname, c.relname, c.reltuples, c.relpages,
         coalesce((select substr(o, 12)::int from unnest(c.reloptions) o
                    where o like 'fillfactor=%' limit 1), 100) as fillfactor,
         (select count(*) from pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'm')
     and n.nspname not in ('pg_catalog', 'information_schema')
     and n.nspname !~ '^pg_toast'
),
st as (
  select s.schemaname, s.tablename, count(*) as stats_columns,
         sum((1 - s.null_frac) * s.avg_width) as data_width,
         bool_or(s.null_frac > 0) as has_nulls
    from pg_stats s
   where not s.inherited
     and s.schemaname not in ('pg_catalog', 'information_schema')
   group by s.schemaname, s.tablename
),
est as (
  select t.*, coalesce(st.stats_columns, 0) as stats_columns, st.data_width,
         ceil((23 + case when st.has_nulls then ceil(t.columns / 8.0) else 0 end) / 8.0) * 8
           + ceil(coalesce(st.data_width, 0) / 8.0) * 8 + 4 as tuple_bytes
    from tbl t
    left join st on st.schemaname = t.nspname and st.tablename = t.relname
)
select e.oid::int8 as relid, e.nspname as schemaname, e.relname, e.reltuples, e.relpages,
       e.fillfactor, e.columns, e.stats_columns, round(e.data_width::numeric, 1)::float8 as data_width,
       e.tuple_bytes::int as tuple_bytes,
       case when e.reltuples >= 0 and e.stats_columns > 0
            then ceil(e.reltuples * e.tuple_bytes
                      / ((bs.block_size - 24) * e.fillfactor / 100))::int8 end
           as expected_pages,
       bs.block_size::int as block_size
  from est e, bs
 where e.relpages > 0
 order by e.nspname, e.relname
