-- tables, PostgreSQL 16+: adds last_seq_scan, last_idx_scan and n_tup_newpage_upd
-- (updates that moved the row to another page: HOT was impossible).
-- with pg_class, and the columns of pg_statio_user_tables computed the way that view
-- computes them (pg_stat_get_blocks_fetched/_hit of the table, its indexes, its
-- TOAST table and TOAST index), in one pass: joining the second view would scan
-- and aggregate the catalogs once more.
-- Sizes are catalog figures, relpages * block_size, kept current by VACUUM, ANALYZE
-- and CREATE INDEX: reading them takes no lock and opens no relation (the size
-- functions open every table and index, which on 10,000 tables costs seconds, and
-- wait behind an ACCESS EXCLUSIVE lock). A table whose figures are stale (never
-- analyzed, or twice the rows of its last analyze) and which holds at least the
-- measure_min_tuples parameter's rows is measured with the size functions instead,
-- unless the exact flag is off or it is in the locked list (someone holds or awaits
-- ACCESS EXCLUSIVE on it or on one of its indexes). size_source says which.
with bs as (select current_setting('block_size')::bigint as block_size),
idx as (
  select i.indrelid, sum(ic.relpages)::bigint as pages,
         sum(pg_stat_get_blocks_fetched(i.indexrelid)
             - pg_stat_get_blocks_hit(i.indexrelid))::bigint as blks_read,
         sum(pg_stat_get_blocks_hit(i.indexrelid))::bigint as blks_hit
    from pg_index i join pg_class ic on ic.oid = i.indexrelid
   group by i.indrelid
)
select s.relid::int8 as relid, s.schemaname, s.relname, c.relkind, c.relpersistence,
       c.relispartition,
       quote_ident(pn.nspname) || '.' || quote_ident(p.relname) as parent,
       c.reltuples, c.relpages, c.relallvisible, c.reloptions,
       toast.reloptions as toast_reloptions,
       case when c.relkind in ('r', 'm', 't') then age(c.relfrozenxid) end as xid_age,
       case when c.relkind in ('r', 'm', 't') then mxid_age(c.relminmxid) end as mxid_age,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch,
       s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_tup_hot_upd,
       s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.n_ins_since_vacuum,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,
       s.last_seq_scan, s.last_idx_scan, s.n_tup_newpage_upd,
       pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) as heap_blks_read,
       pg_stat_get_blocks_hit(c.oid) as heap_blks_hit,
       ix.blks_read as idx_blks_read, ix.blks_hit as idx_blks_hit,
       pg_stat_get_blocks_fetched(toast.oid) - pg_stat_get_blocks_hit(toast.oid)
           as toast_blks_read,
       pg_stat_get_blocks_hit(toast.oid) as toast_blks_hit,
       tix.blks_read as tidx_blks_read, tix.blks_hit as tidx_blks_hit,
       s.n_tup_hot_upd::float8 / nullif(s.n_tup_upd, 0) as hot_ratio,
       s.n_dead_tup::float8 / nullif(s.n_live_tup + s.n_dead_tup, 0) as dead_ratio,
       sz.total_bytes, sz.total_bytes - sz.index_bytes - sz.toast_bytes as table_bytes,
       sz.index_bytes, sz.toast_bytes, m.stale as size_stale,
       case when m.measure then 'exact' else 'catalog' end as size_source
  from pg_stat_user_tables s
  join pg_class c on c.oid = s.relid
  left join pg_class toast on toast.oid = c.reltoastrelid
  left join idx ix on ix.indrelid = c.oid
  left join idx tix on tix.indrelid = toast.oid
  -- a partition has exactly one parent
  left join pg_inherits h on h.inhrelid = c.oid and c.relispartition
  left join pg_class p on p.oid = h.inhparent
  left join pg_namespace pn on pn.oid = p.relnamespace
  cross join bs
  cross join lateral (
        select c.relkind in ('r', 'm', 't')
               and (c.reltuples < 0 or c.relpages = 0
                    or s.n_live_tup + s.n_dead_tup > 2 * c.reltuples) as stale) st
  cross join lateral (
        select st.stale as stale,
               %(exact)s and st.stale
               and s.n_live_tup + s.n_dead_tup >= %(measure_min_tuples)s
               and c.oid <> all(%(locked)s::oid[]) as measure) m
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
 order by s.schemaname, s.relname
