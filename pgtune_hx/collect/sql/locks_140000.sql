-- locks, PostgreSQL 14+: pg_locks without our own backend's locks, with the
-- relation's name when it belongs to this database; 14+ adds waitstart (when a
-- lock wait began) and from it wait_s.
select l.locktype, l.database::int8 as database, l.relation::int8 as relation,
       case when c.oid is not null
            then quote_ident(n.nspname) || '.' || quote_ident(c.relname) end as relation_name,
       c.relkind, l.page, l.tuple, l.virtualxid, l.transactionid::text::int8 as transactionid,
       l.classid::int8 as classid, l.objid::int8 as objid, l.objsubid,
       l.virtualtransaction, l.pid, l.mode, l.granted, l.fastpath,
       l.waitstart, extract(epoch from statement_timestamp() - l.waitstart)::float8 as wait_s
  from pg_locks l
  left join pg_class c
         on c.oid = l.relation
        and l.database = (select oid from pg_database where datname = current_database())
  left join pg_namespace n on n.oid = c.relnamespace
 where l.pid is distinct from pg_backend_pid()
 order by l.granted, l.pid
