-- Tables of the current database, largest first (by relpages, which needs no lock).
-- Size functions open the relation with ACCESS SHARE; for a relation with an
-- ACCESS EXCLUSIVE lock held or queued they would wait, so its sizes stay null
-- and est_table_bytes (relpages from the last VACUUM/ANALYZE) stands in.
with locked as (
    select distinct l.relation
      from pg_locks l
     where l.locktype = 'relation' and l.mode = 'AccessExclusiveLock'
       and l.database = (select oid from pg_database where datname = current_database())
)
select t.schemaname, t.relname, t.relid, c.relkind, c.reltuples, c.relpages,
       (lk.relation is not null) as size_locked,
       case when lk.relation is null then pg_total_relation_size(t.relid) end as total_bytes,
       case when lk.relation is null then pg_relation_size(t.relid) end as table_bytes,
       case when lk.relation is null then pg_indexes_size(t.relid) end as index_bytes,
       c.relpages::bigint * current_setting('block_size')::bigint as est_table_bytes,
       t.n_live_tup, t.n_dead_tup, t.seq_scan, t.seq_tup_read, t.idx_scan,
       t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd, t.n_mod_since_analyze,
       t.n_ins_since_vacuum, t.last_vacuum, t.last_autovacuum, t.last_analyze,
       t.last_autoanalyze, t.vacuum_count, t.autovacuum_count,
       age(c.relfrozenxid) as xid_age
  from pg_stat_user_tables t
  join pg_class c on c.oid = t.relid
  left join locked lk on lk.relation = t.relid
 order by c.relpages desc, t.relid
 limit %(limit)s
