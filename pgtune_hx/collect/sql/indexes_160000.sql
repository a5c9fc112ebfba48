-- indexes, PostgreSQL 16+: adds last_idx_scan (time of the last scan).
-- pg_get_indexdef and pg_relation_size lock the table or index (AccessShareLock):
-- they run only when the exact flag is on and neither is in the locked list;
-- then indexdef is null, size_bytes is relpages * block_size and the key and
-- INCLUDE column names come from pg_attribute (catalog_columns).
-- constraint_type: the constraint the index backs; fk_referenced: a foreign key
-- of another table points at this index (it cannot simply be dropped).
with bs as (select current_setting('block_size')::bigint as block_size)
select s.relid::int8 as relid, s.indexrelid::int8 as indexrelid, s.schemaname, s.relname, s.indexrelname,
       quote_ident(s.schemaname) || '.' || quote_ident(s.relname) as table_ident,
       am.amname as am,
       s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
       s.last_idx_scan,
       io.idx_blks_read, io.idx_blks_hit,
       x.indisunique, x.indisprimary, x.indisexclusion, x.indimmediate, x.indisvalid,
       x.indisready, x.indislive, x.indisreplident, x.indnatts, x.indnkeyatts,
       x.indkey::int2[] as indkey,
       case con.contype when 'p' then 'primary key' when 'u' then 'unique'
                        when 'x' then 'exclusion' end as constraint_type,
       con.conname as constraint_name,
       exists (select 1 from pg_constraint f
                where f.contype = 'f' and f.conindid = x.indexrelid) as fk_referenced,
       ci.relpages, ci.reltuples, ci.reloptions,
       tc.reltuples as table_reltuples,
       case when m.exact then pg_get_indexdef(x.indexrelid) end as indexdef,
       case when m.exact then pg_relation_size(x.indexrelid)
            else ci.relpages::bigint * bs.block_size end as size_bytes,
       case when m.exact then 'exact' else 'catalog' end as size_source,
       case when not m.exact then
            array(select a.attname::text
                    from unnest(x.indkey::int2[]) with ordinality k(attnum, ord)
                    left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                   order by k.ord) end as catalog_columns
  from pg_stat_user_indexes s
  join pg_statio_user_indexes io on io.indexrelid = s.indexrelid
  join pg_index x on x.indexrelid = s.indexrelid
  join pg_class ci on ci.oid = s.indexrelid
  join pg_class tc on tc.oid = s.relid
  join pg_am am on am.oid = ci.relam
  left join pg_constraint con
         on con.conindid = x.indexrelid and con.conrelid = x.indrelid
        and con.contype in ('p', 'u', 'x')
  cross join bs
  cross join lateral (
        select %(exact)s and x.indrelid <> all(%(locked)s::oid[])
               and x.indexrelid <> all(%(locked)s::oid[]) as exact) m
 order by s.schemaname, s.relname, s.indexrelname
