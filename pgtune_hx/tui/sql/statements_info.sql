-- Evictions and the last reset of pg_stat_statements (1.9, PostgreSQL 14+).
select i.dealloc, i.stats_reset from {schema}.pg_stat_statements_info i
