-- statements_info, pg_stat_statements 1.9 (PostgreSQL 14) and later: dealloc (how
-- many times entries were evicted because pg_stat_statements.max was reached) and
-- stats_reset (last pg_stat_statements_reset() of everything). Absent before 1.9.
select i.dealloc, i.stats_reset
  from {schema}.pg_stat_statements_info i
