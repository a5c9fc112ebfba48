-- Dead tuples and freeze age per table of the connected database, worst first.
select s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup,
       s.last_autovacuum, s.autovacuum_count,
       age(c.relfrozenxid) as freeze_age,
       coalesce(c.reloptions::text like '%autovacuum_enabled=false%', false)
           as autovacuum_disabled
from pg_stat_user_tables s
join pg_class c on c.oid = s.relid
order by s.n_dead_tup desc
limit 200
