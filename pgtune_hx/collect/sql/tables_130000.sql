-- tables, PostgreSQL 13+: the columns of pg_stat_user_tables (n_ins_since_vacuum is
-- new in 13) and pg_statio_user_tables with pg_class, in one pass over the
-- catalogs: each column is computed the way those views compute it (the same
-- pg_stat_get_* functions, summed over the table's indexes where the view sums),
-- from one aggregate over pg_index shared by both; joining the two views would scan
-- and aggregate the catalogs twice more. Rows: relkind r, t, m, p outside
-- pg_catalog, information_schema and pg_toast, as pg_stat_user_tables.
-- Sizes are catalog figures, relpages * block_size, kept current by VACUUM, ANALYZE
-- and CREATE INDEX: reading them takes no lock and opens no relation (the size
-- functions open every table and index, which on 10,000 tables costs seconds, and
-- wait behind an ACCESS EXCLUSIVE lock). A table whose figures are stale (never
-- analyzed, or twice the rows of its last analyze) and which holds at least the
-- measure_min_tuples parameter's rows is measured with the size functions instead,
-- unless the exact flag is off or it is in the locked list (someone holds or awaits
-- ACCESS EXCLUSIVE on it or on one of its indexes). size_source says which.
with bs as (select current_setting('block_size')::bigint as block_size),
lk as materialized (select %(locked)s::oid[] as oids),
idx as materialized (
  select i.indrelid,
         sum(pg_stat_get_numscans(i.indexrelid))::bigint as idx_scan,
         sum(pg_stat_get_tuples_fetched(i.indexrelid))::bigint as idx_tup_fetch,
         sum(pg_stat_get_blocks_fetched(i.indexrelid)
             - pg_stat_get_blocks_hit(i.indexrelid))::bigint as blks_read,
         sum(pg_stat_get_blocks_hit(i.indexrelid))::bigint as blks_hit,
         sum(ic.relpages)::bigint as pages
    from pg_index i join pg_class ic on ic.oid = i.indexrelid
   group by i.indrelid
)
select c.oid as relid, n.nspname as schemaname, c.relname, c.relkind, c.relpersistence,
       c.relispartition,
       quote_ident(pn.nspname) || '.' || quote_ident(p.relname) as parent,
       c.reltuples, c.relpages, c.relallvisible, c.reloptions,
       toast.reloptions as toast_reloptions,
       case when c.relkind in ('r', 'm', 't') then age(c.relfrozenxid) end as xid_age,
       case when c.relkind in ('r', 'm', 't') then mxid_age(c.relminmxid) end as mxid_age,
       pg_stat_get_numscans(c.oid) as seq_scan,
       pg_stat_get_tuples_returned(c.oid) as seq_tup_read,
       ix.idx_scan,
       ix.idx_tup_fetch + pg_stat_get_tuples_fetched(c.oid) as idx_tup_fetch,
       pg_stat_get_tuples_inserted(c.oid) as n_tup_ins,
       pg_stat_get_tuples_updated(c.oid) as n_tup_upd,
       pg_stat_get_tuples_deleted(c.oid) as n_tup_del,
       pg_stat_get_tuples_hot_updated(c.oid) as n_tup_hot_upd,
       st.live as n_live_tup,
       st.dead as n_dead_tup,
       pg_stat_get_mod_since_analyze(c.oid) as n_mod_since_analyze,
       pg_stat_get_ins_since_vacuum(c.oid) as n_ins_since_vacuum,
       pg_stat_get_last_vacuum_time(c.oid) as last_vacuum,
       pg_stat_get_last_autovacuum_time(c.oid) as last_autovacuum,
       pg_stat_get_last_analyze_time(c.oid) as last_analyze,
       pg_stat_get_last_autoanalyze_time(c.oid) as last_autoanalyze,
       pg_stat_get_vacuum_count(c.oid) as vacuum_count,
       pg_stat_get_autovacuum_count(c.oid) as autovacuum_count,
       pg_stat_get_analyze_count(c.oid) as analyze_count,
       pg_stat_get_autoanalyze_count(c.oid) as autoanalyze_count,
       pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) as heap_blks_read,
       pg_stat_get_blocks_hit(c.oid) as heap_blks_hit,
       ix.blks_read as idx_blks_read, ix.blks_hit as idx_blks_hit,
       pg_stat_get_blocks_fetched(toast.oid) - pg_stat_get_blocks_hit(toast.oid)
           as toast_blks_read,
       pg_stat_get_blocks_hit(toast.oid) as toast_blks_hit,
       tix.blks_read as tidx_blks_read, tix.blks_hit as tidx_blks_hit,
       pg_stat_get_tuples_hot_updated(c.oid)::float8
           / nullif(pg_stat_get_tuples_updated(c.oid), 0) as hot_ratio,
       st.dead::float8 / nullif(st.live + st.dead, 0) as dead_ratio,
       sz.total_bytes, sz.total_bytes - sz.index_bytes - sz.toast_bytes as table_bytes,
       sz.index_bytes, sz.toast_bytes, m.stale as size_stale,
       case when m.measure then 'exact' else 'catalog' end as size_source
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_class toast on toast.oid = c.reltoastrelid
  left join idx ix on ix.indrelid = c.oid
  left join idx tix on tix.indrelid = toast.oid
  -- a partition has exactly one parent
  left join pg_inherits h on h.inhrelid = c.oid and c.relispartition
  left join pg_class p on p.oid = h.inhparent
  left join pg_namespace pn on pn.oid = p.relnamespace
  cross join bs
  cross join lk
  cross join lateral (
        select pg_stat_get_live_tuples(c.oid) as live,
               pg_stat_get_dead_tuples(c.oid) as dead) st
  cross join lateral (
        select c.relkind in ('r', 'm', 't')
               and (c.reltuples < 0 or c.relpages = 0 or st.live + st.dead > 2 * c.reltuples)
               as stale) s
  cross join lateral (
        select s.stale,
               %(exact)s and s.stale and st.live + st.dead >= %(measure_min_tuples)s
               and c.oid <> all(lk.oids) as measure) m
  cross join lateral (
        select case when m.measure then pg_total_relation_size(c.oid)
                    else (c.relpages + coalesce(toast.relpages, 0)
                          + coalesce(ix.pages, 0) + coalesce(tix.pages, 0)) * bs.block_size
               end as total_bytes,
               case when m.measure then pg_indexes_size(c.oid)
                    else coalesce(ix.pages, 0) * bs.block_size
               end as index_bytes,
               case when m.measure and toast.oid is not null
                    then pg_total_relation_size(toast.oid)
                    else (coalesce(toast.relpages, 0) + coalesce(tix.pages, 0)) * bs.block_size
               end as toast_bytes) sz
 where c.relkind in ('r', 't', 'm', 'p')
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname !~ '^pg_toast'
