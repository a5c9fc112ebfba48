-- indexes, PostgreSQL 15+: adds indnullsnotdistinct (UNIQUE NULLS NOT DISTINCT);
-- the columns of pg_stat_user_indexes and pg_statio_user_indexes, computed the way those
-- views do (pg_stat_get_* of the index) in one pass over pg_index and pg_class,
-- with pg_index's own columns. Rows: indexes of relkind r, t, m tables outside
-- pg_catalog, information_schema and pg_toast, as pg_stat_user_indexes.
-- indexdef: pg_get_indexdef only for expression and partial indexes and indexes
-- with opclass options (not plain). pg_get_indexdef costs tens of microseconds per
-- index (seconds on 20,000) and waits behind an ACCESS EXCLUSIVE lock on the
-- table; a plain index's definition is rebuilt in Python from indkey, indclass,
-- indcollation and indoption (see indexdef.py, index_columns, index_catalog). For
-- an index in the locked list, indexdef stays null.
-- size_bytes: relpages * block_size, unless the index's table has stale catalog
-- figures and at least the measure_min_tuples parameter's rows, the exact flag is
-- on and nothing is locked: then pg_relation_size (size_source 'exact').
-- constraint_type: the constraint the index backs; fk_referenced: a foreign key
-- of another table points at this index (it cannot simply be dropped).
with bs as (select current_setting('block_size')::bigint as block_size),
lk as materialized (select %(locked)s::oid[] as oids),
fk as (select distinct conindid from pg_constraint where contype = 'f')
select x.indrelid as relid, x.indexrelid, n.nspname as schemaname, tc.relname,
       ci.relname as indexrelname,
       quote_ident(n.nspname) || '.' || quote_ident(tc.relname) as table_ident,
       quote_ident(ci.relname) as index_ident,
       am.amname as am, ci.relkind,
       pg_stat_get_numscans(x.indexrelid) as idx_scan,
       pg_stat_get_tuples_returned(x.indexrelid) as idx_tup_read,
       pg_stat_get_tuples_fetched(x.indexrelid) as idx_tup_fetch,
       pg_stat_get_blocks_fetched(x.indexrelid) - pg_stat_get_blocks_hit(x.indexrelid)
           as idx_blks_read,
       pg_stat_get_blocks_hit(x.indexrelid) as idx_blks_hit,
       x.indisunique, x.indisprimary, x.indisexclusion, x.indimmediate, x.indisvalid,
       x.indisready, x.indislive, x.indisreplident, x.indnatts, x.indnkeyatts,
       x.indnullsnotdistinct as indnullsnotdistinct,
       x.indkey::int2[] as indkey, x.indclass::oid[] as indclass,
       x.indcollation::oid[] as indcollation, x.indoption::int2[] as indoption,
       case con.contype when 'p' then 'primary key' when 'u' then 'unique'
                        when 'x' then 'exclusion' end as constraint_type,
       con.conname as constraint_name,
       fk.conindid is not null as fk_referenced,
       ci.relpages, ci.reltuples, ci.reloptions,
       -- WITH (...) as flatten_reloptions prints it: values quoted unless identifiers
       case when ci.reloptions is not null then
            (select string_agg(quote_ident(split_part(opt, '=', 1)) || '='
                               || case when quote_ident(substr(opt, strpos(opt, '=') + 1))
                                            = substr(opt, strpos(opt, '=') + 1)
                                       then substr(opt, strpos(opt, '=') + 1)
                                       else quote_literal(substr(opt, strpos(opt, '=') + 1))
                                  end, ', ')
               from unnest(ci.reloptions) opt) end as with_options,
       tc.reltuples as table_reltuples,
       m.plain,
       case when not m.plain and not m.locked then pg_get_indexdef(x.indexrelid) end
           as indexdef,
       case when m.measure then pg_relation_size(x.indexrelid)
            else ci.relpages::bigint * bs.block_size end as size_bytes,
       case when m.measure then 'exact' else 'catalog' end as size_source,
       m.locked
  from pg_index x
  join pg_class ci on ci.oid = x.indexrelid
  join pg_class tc on tc.oid = x.indrelid
  join pg_namespace n on n.oid = tc.relnamespace
  join pg_am am on am.oid = ci.relam
  left join pg_constraint con
         on con.conindid = x.indexrelid and con.conrelid = x.indrelid
        and con.contype in ('p', 'u', 'x')
  left join fk on fk.conindid = x.indexrelid
  cross join bs
  cross join lk
  cross join lateral (
        select x.indrelid = any(lk.oids) or x.indexrelid = any(lk.oids) as locked,
               pg_stat_get_live_tuples(x.indrelid) + pg_stat_get_dead_tuples(x.indrelid)
                   as tuples) l
  cross join lateral (
        select l.locked,
               x.indexprs is null and x.indpred is null
               -- opclass options (gist, gin, ...; btree and hash have none) are printed
               -- by pg_get_indexdef only
               and (am.amname in ('btree', 'hash')
                    or not exists (select 1 from pg_attribute ia
                                    where ia.attrelid = x.indexrelid
                                      and ia.attoptions is not null)) as plain,
               %(exact)s and not l.locked
               and l.tuples >= %(measure_min_tuples)s
               and (tc.reltuples < 0 or tc.relpages = 0 or ci.relpages = 0
                    or l.tuples > 2 * tc.reltuples) as measure) m
 where tc.relkind in ('r', 't', 'm')
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname !~ '^pg_toast'
