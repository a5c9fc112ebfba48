-- Client connections now, by state, and running autovacuum workers.
select count(*) filter (where backend_type = 'client backend') as total,
       count(*) filter (where backend_type = 'client backend' and state = 'active') as active,
       count(*) filter (where backend_type = 'client backend' and state = 'idle') as idle,
       count(*) filter (where backend_type = 'client backend'
                          and state like 'idle in transaction%') as idle_in_transaction,
       count(*) filter (where backend_type = 'autovacuum worker') as autovacuum_workers
from pg_stat_activity
