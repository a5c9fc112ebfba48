-- Locks one session holds or waits for; relation names resolve in this database only.
select l.locktype, d.datname, l.relation,
       case when l.database = (select oid from pg_database where datname = current_database())
            then l.relation::regclass::text end as relname,
       l.page, l.tuple, l.virtualxid, l.transactionid::text as transactionid,
       l.classid::regclass::text as classid, l.objid, l.mode, l.granted, l.fastpath,
       l.waitstart
  from pg_locks l
  left join pg_database d on d.oid = l.database
 where l.pid = %(pid)s
 order by l.granted, l.locktype, l.relation
