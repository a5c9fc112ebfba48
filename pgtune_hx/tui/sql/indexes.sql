-- Indexes of the current database with their scans, size and exact duplicates
-- (same table, access method, columns, operator classes, expressions, predicate).
with locked as (
    select distinct l.relation
      from pg_locks l
     where l.locktype = 'relation' and l.mode = 'AccessExclusiveLock'
       and l.database = (select oid from pg_database where datname = current_database())
), keyed as (
    select i.indexrelid, i.indrelid,
           concat_ws('|', ic.relam, i.indkey::text, i.indclass::text, i.indcollation::text,
                     pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid))
               as shape
      from pg_index i join pg_class ic on ic.oid = i.indexrelid
)
select s.schemaname, s.relname, s.indexrelname, s.relid, s.indexrelid, s.idx_scan,
       s.idx_tup_read, s.idx_tup_fetch, pg_get_indexdef(s.indexrelid) as indexdef,
       i.indisunique, i.indisprimary, i.indisvalid, con.contype::text as constraint_type,
       case when lk.relation is null and lt.relation is null
            then pg_relation_size(s.indexrelid) end as size_bytes,
       ic.relpages::bigint * current_setting('block_size')::bigint as est_size_bytes,
       (select min(o.indexrelid::regclass::text)
          from keyed o
         where o.indrelid = k.indrelid and o.shape = k.shape and o.indexrelid <> k.indexrelid)
           as duplicate_of
  from pg_stat_user_indexes s
  join pg_index i on i.indexrelid = s.indexrelid
  join pg_class ic on ic.oid = s.indexrelid
  join keyed k on k.indexrelid = s.indexrelid
  left join pg_constraint con on con.conindid = s.indexrelid and con.contype in ('p', 'u', 'x')
  left join locked lk on lk.relation = s.indexrelid
  left join locked lt on lt.relation = s.relid
 order by ic.relpages desc, s.indexrelid
 limit %(limit)s
