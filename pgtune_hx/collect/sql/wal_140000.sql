-- wal, PostgreSQL 14-17: pg_stat_wal (new in 14) with write/sync counts and times,
-- plus the current WAL position.
select s.wal_records, s.wal_fpi, s.wal_bytes, s.wal_buffers_full, s.wal_write,
       s.wal_sync, s.wal_write_time, s.wal_sync_time, s.stats_reset,
       w.lsn::text as wal_lsn, pg_wal_lsn_diff(w.lsn, '0/0')::int8 as wal_lsn_bytes
  from pg_stat_wal s,
       (select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                    else pg_current_wal_lsn() end as lsn) w
