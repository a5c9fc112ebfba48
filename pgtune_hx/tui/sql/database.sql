-- pg_stat_database counters (14+); datid 0 is the row of shared objects.
select datid, datname, numbackends, xact_commit, xact_rollback, blks_read, blks_hit,
       tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, conflicts,
       temp_files, temp_bytes, deadlocks, blk_read_time, blk_write_time, stats_reset
  from pg_stat_database
