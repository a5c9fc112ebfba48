-- database for every refresh, PostgreSQL 14+: the pg_stat_database counters of the
-- collectors' database section, without pg_database_size() (it walks each
-- database's directory: too costly every few seconds on a large cluster).
select d.datid::int8 as datid, d.datname, d.datname = current_database() as is_current,
       d.numbackends, d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
       d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted,
       d.conflicts, d.temp_files, d.temp_bytes, d.deadlocks, d.blk_read_time,
       d.blk_write_time, d.stats_reset
  from pg_stat_database d
 order by d.datname nulls first
