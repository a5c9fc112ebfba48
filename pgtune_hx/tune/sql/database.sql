-- Cluster-wide temp spills and buffer cache hits since the statistics were reset,
-- and the oldest unfrozen transaction age of any database.
select sum(temp_files)::bigint as temp_files,
       sum(temp_bytes)::bigint as temp_bytes,
       sum(blks_hit)::bigint as blks_hit,
       sum(blks_read)::bigint as blks_read,
       min(stats_reset) as stats_reset,
       (select max(age(datfrozenxid)) from pg_database) as max_freeze_age,
       (select max(mxid_age(datminmxid)) from pg_database) as max_mxid_age
from pg_stat_database
where datname is not null
