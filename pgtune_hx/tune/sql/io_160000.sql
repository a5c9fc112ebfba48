-- PG 16+: client backends evicting relation pages from shared buffers mean the
-- working set does not fit (bulk reads and writes use rings: context 'normal' only).
select coalesce(sum(evictions), 0)::bigint as evictions,
       coalesce(sum(reads), 0)::bigint as reads,
       coalesce(sum(hits), 0)::bigint as hits,
       min(stats_reset) as stats_reset
from pg_stat_io
where backend_type = 'client backend' and object = 'relation' and context = 'normal'
