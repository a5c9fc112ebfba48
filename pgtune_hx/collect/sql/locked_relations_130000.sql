-- locked_relations, PostgreSQL 13+: relations of this database that another session
-- holds, or waits for, in a mode that conflicts with AccessShareLock or
-- RowExclusiveLock. Size functions, pg_get_indexdef and pg_get_expr take
-- AccessShareLock on the table; pg_sequences takes RowExclusiveLock on each
-- sequence. A waiting request counts too: new requests queue behind it.
-- owner_oid is the table an index or TOAST relation belongs to.
select l.relation::int8 as oid, l.mode, l.granted, l.pid, c.relkind,
       coalesce(toast_owner.oid, i.indrelid, c.oid)::int8 as owner_oid,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
  from pg_locks l
  join pg_class c on c.oid = l.relation
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_index i on i.indexrelid = c.oid
  left join pg_class toast_owner
         on toast_owner.reltoastrelid = coalesce(i.indrelid, c.oid) and c.relkind in ('t', 'i')
 where l.locktype = 'relation'
   and l.database = (select oid from pg_database where datname = current_database())
   and l.mode in ('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock')
   and l.pid is distinct from pg_backend_pid()
