-- tables, PostgreSQL 13+: pg_stat_user_tables (n_ins_since_vacuum is new in 13)
-- joined with pg_statio_user_tables and pg_class.
-- Never waits on a lock: size functions open the table (AccessShareLock), so they
-- run only when the exact flag is on and the table is not in the locked list (someone holds or
-- awaits ACCESS EXCLUSIVE on it or on one of its indexes); otherwise the sizes
-- are catalog figures, relpages * block_size (as of the last VACUUM/ANALYZE),
-- and size_source says 'catalog'.
with bs as (select current_setting('block_size')::bigint as block_size)
select s.relid::int8 as relid, s.schemaname, s.relname, c.relkind, c.relpersistence, c.relispartition,
       parent.name as parent,
       c.reltuples, c.relpages, c.relallvisible, c.reloptions,
       toast.reloptions as toast_reloptions,
       case when c.relkind in ('r', 'm', 't') then age(c.relfrozenxid) end as xid_age,
       case when c.relkind in ('r', 'm', 't') then mxid_age(c.relminmxid) end as mxid_age,
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch,
       s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_tup_hot_upd,
       s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.n_ins_since_vacuum,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,
       io.heap_blks_read, io.heap_blks_hit, io.idx_blks_read, io.idx_blks_hit,
       io.toast_blks_read, io.toast_blks_hit, io.tidx_blks_read, io.tidx_blks_hit,
       s.n_tup_hot_upd::float8 / nullif(s.n_tup_upd, 0) as hot_ratio,
       s.n_dead_tup::float8 / nullif(s.n_live_tup + s.n_dead_tup, 0) as dead_ratio,
       sz.total_bytes, sz.total_bytes - sz.index_bytes - sz.toast_bytes as table_bytes,
       sz.index_bytes, sz.toast_bytes, sz.size_source
  from pg_stat_user_tables s
  join pg_statio_user_tables io on io.relid = s.relid
  join pg_class c on c.oid = s.relid
  left join pg_class toast on toast.oid = c.reltoastrelid
  cross join bs
  left join lateral (
        select quote_ident(pn.nspname) || '.' || quote_ident(p.relname) as name
          from pg_inherits h
          join pg_class p on p.oid = h.inhparent
          join pg_namespace pn on pn.oid = p.relnamespace
         where h.inhrelid = c.oid and c.relispartition
         limit 1) parent on true
  cross join lateral (
        select %(exact)s and c.oid <> all(%(locked)s::oid[]) as exact) m
  cross join lateral (
        select case when m.exact then pg_total_relation_size(c.oid)
                    else (c.relpages + coalesce(toast.relpages, 0)
                          + coalesce(ix.pages, 0) + coalesce(tix.pages, 0)) * bs.block_size
               end as total_bytes,
               case when m.exact then pg_indexes_size(c.oid)
                    else coalesce(ix.pages, 0) * bs.block_size
               end as index_bytes,
               case when m.exact and toast.oid is not null
                    then pg_total_relation_size(toast.oid)
                    else (coalesce(toast.relpages, 0) + coalesce(tix.pages, 0)) * bs.block_size
               end as toast_bytes,
               case when m.exact then 'exact' else 'catalog' end as size_source
          from (select sum(ic.relpages)::bigint as pages
                  from pg_index i join pg_class ic on ic.oid = i.indexrelid
                 where i.indrelid = c.oid and not m.exact) ix,
               (select sum(ic.relpages)::bigint as pages
                  from pg_index i join pg_class ic on ic.oid = i.indexrelid
                 where i.indrelid = toast.oid and not m.exact) tix) sz
 order by s.schemaname, s.relname
