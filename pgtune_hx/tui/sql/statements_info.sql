-- Evictions and the last reset of pg_stat_statements (14+).
select dealloc, stats_reset from {schema}.pg_stat_statements_info
