-- indexes, PostgreSQL 13+: pg_stat_user_indexes + pg_index, with the columns of
-- pg_statio_user_indexes computed the way that view does (blocks fetched/hit).
-- indexdef: for an index on plain columns it is rebuilt here from the catalogs, in
-- the form pg_get_indexdef prints (indexdef_source 'catalog'), set-based:
-- pg_get_indexdef costs tens of microseconds per index, seconds on 20,000, and
-- waits behind an ACCESS EXCLUSIVE lock on the table. Expression and partial
-- indexes, and opclass options, come from pg_get_indexdef ('pg_get_indexdef'),
-- except when the table or index is in the locked list ('none': indexdef is null,
-- catalog_columns names the columns from pg_attribute).
-- size_bytes: relpages * block_size, unless the index's table has stale catalog
-- figures and at least the measure_min_tuples parameter's rows, the exact flag is
-- on and nothing is locked: then pg_relation_size (size_source 'exact').
-- constraint_type: the constraint the index backs; fk_referenced: a foreign key
-- of another table points at this index (it cannot simply be dropped).
with bs as (select current_setting('block_size')::bigint as block_size),
plain as (
  select x.indexrelid, x.indrelid, x.indnkeyatts,
         pg_indexam_has_property(ci.relam, 'can_order') as ordered
    from pg_index x
    join pg_class ci on ci.oid = x.indexrelid
   where x.indexprs is null and x.indpred is null
     and not exists (select 1 from pg_attribute ia
                      where ia.attrelid = x.indexrelid and ia.attoptions is not null)
),
-- key columns as pg_get_indexdef prints them: COLLATE when not the column's, the
-- operator class when not a default one (schema-qualified when not visible),
-- DESC / NULLS FIRST / NULLS LAST for ordered access methods (btree)
keys as (
  select u.indexrelid,
         string_agg(
           quote_ident(a.attname)
           || case when u.coll <> 0 and u.coll <> a.attcollation
                   then ' COLLATE ' || (select case when pg_collation_is_visible(cl.oid)
                                                    then '' else quote_ident(cn.nspname) || '.'
                                               end || quote_ident(cl.collname)
                                          from pg_collation cl
                                          join pg_namespace cn on cn.oid = cl.collnamespace
                                         where cl.oid = u.coll)
                   else '' end
           || case when opc.opcdefault then ''
                   else ' ' || case when pg_opclass_is_visible(opc.oid) then ''
                                    else (select quote_ident(nspname) || '.'
                                            from pg_namespace where oid = opc.opcnamespace)
                               end || quote_ident(opc.opcname) end
           || case when not u.ordered then ''
                   when u.opt & 1 = 1
                   then ' DESC' || case when u.opt & 2 = 0 then ' NULLS LAST' else '' end
                   when u.opt & 2 = 2 then ' NULLS FIRST' else '' end,
           ', ' order by u.ord) filter (where u.ord <= u.indnkeyatts) as keys,
         string_agg(quote_ident(a.attname), ', ' order by u.ord)
           filter (where u.ord > u.indnkeyatts) as include
    -- indclass, indcollation and indoption cover the key columns only: unnest pads
    -- them with nulls for the INCLUDE columns
    from (select p.indexrelid, p.indrelid, p.indnkeyatts, p.ordered, k.*
            from plain p
            join pg_index x on x.indexrelid = p.indexrelid
            cross join lateral unnest(x.indkey::int2[], x.indclass::oid[],
                                      x.indcollation::oid[], x.indoption::int2[])
                       with ordinality k(attnum, opc, coll, opt, ord)) u
    join pg_attribute a on a.attrelid = u.indrelid and a.attnum = u.attnum
    left join pg_opclass opc on opc.oid = u.opc
   group by u.indexrelid
)
select s.relid::int8 as relid, s.indexrelid::int8 as indexrelid, s.schemaname, s.relname,
       s.indexrelname,
       quote_ident(s.schemaname) || '.' || quote_ident(s.relname) as table_ident,
       am.amname as am,
       s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
       pg_stat_get_blocks_fetched(s.indexrelid) - pg_stat_get_blocks_hit(s.indexrelid)
           as idx_blks_read,
       pg_stat_get_blocks_hit(s.indexrelid) as idx_blks_hit,
       x.indisunique, x.indisprimary, x.indisexclusion, x.indimmediate, x.indisvalid,
       x.indisready, x.indislive, x.indisreplident, x.indnatts, x.indnkeyatts,
       false as indnullsnotdistinct,
       x.indkey::int2[] as indkey,
       case con.contype when 'p' then 'primary key' when 'u' then 'unique'
                        when 'x' then 'exclusion' end as constraint_type,
       con.conname as constraint_name,
       fk.indexrelid is not null as fk_referenced,
       ci.relpages, ci.reltuples, ci.reloptions,
       tc.reltuples as table_reltuples,
       case when m.locked then null
            when k.keys is not null then
                 'CREATE ' || case when x.indisunique then 'UNIQUE ' else '' end
                 || 'INDEX ' || quote_ident(ci.relname) || ' ON '
                 || case when ci.relkind = 'I' then 'ONLY ' else '' end
                 || quote_ident(s.schemaname) || '.' || quote_ident(s.relname)
                 || ' USING ' || quote_ident(am.amname) || ' (' || k.keys
                 || coalesce(') INCLUDE (' || k.include, '') || ')'
                 || case when false then ' NULLS NOT DISTINCT' else '' end
                 || coalesce(' WITH (' || o.options || ')', '')
            else pg_get_indexdef(x.indexrelid) end as indexdef,
       case when m.locked then 'none' when k.keys is not null then 'catalog'
            else 'pg_get_indexdef' end as indexdef_source,
       case when m.measure then pg_relation_size(x.indexrelid)
            else ci.relpages::bigint * bs.block_size end as size_bytes,
       case when m.measure then 'exact' else 'catalog' end as size_source,
       case when m.locked then
            array(select a.attname::text
                    from unnest(x.indkey::int2[]) with ordinality u(attnum, ord)
                    left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = u.attnum
                   order by u.ord) end as catalog_columns
  from pg_stat_user_indexes s
  join pg_index x on x.indexrelid = s.indexrelid
  join pg_class ci on ci.oid = s.indexrelid
  join pg_class tc on tc.oid = s.relid
  join pg_am am on am.oid = ci.relam
  left join keys k on k.indexrelid = s.indexrelid
  left join pg_constraint con
         on con.conindid = x.indexrelid and con.conrelid = x.indrelid
        and con.contype in ('p', 'u', 'x')
  left join (select distinct conindid as indexrelid from pg_constraint where contype = 'f') fk
         on fk.indexrelid = x.indexrelid
  cross join bs
  cross join lateral (
        select x.indrelid = any(%(locked)s::oid[])
               or x.indexrelid = any(%(locked)s::oid[]) as locked,
               pg_stat_get_live_tuples(s.relid) + pg_stat_get_dead_tuples(s.relid)
                   as tuples) l
  cross join lateral (
        select l.locked,
               %(exact)s and not l.locked
               and l.tuples >= %(measure_min_tuples)s
               and (tc.reltuples < 0 or tc.relpages = 0 or ci.relpages = 0
                    or l.tuples > 2 * tc.reltuples) as measure) m
  -- WITH (...) as flatten_reloptions prints it: values quoted unless plain identifiers
  left join lateral (
        select string_agg(
                 quote_ident(split_part(opt, '=', 1)) || '='
                 || case when quote_ident(substr(opt, strpos(opt, '=') + 1))
                              = substr(opt, strpos(opt, '=') + 1)
                         then substr(opt, strpos(opt, '=') + 1)
                         else quote_literal(substr(opt, strpos(opt, '=') + 1)) end,
                 ', ') as options
          from unnest(ci.reloptions) opt) o on ci.reloptions is not null
 order by s.schemaname, s.relname, s.indexrelname
