-- wal, PostgreSQL 18+: pg_stat_wal lost wal_write, wal_sync, wal_write_time and
-- wal_sync_time (they moved to pg_stat_io, object 'wal').
select s.wal_records, s.wal_fpi, s.wal_bytes, s.wal_buffers_full, s.stats_reset,
       w.lsn::text as wal_lsn, pg_wal_lsn_diff(w.lsn, '0/0')::int8 as wal_lsn_bytes
  from pg_stat_wal s,
       (select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                    else pg_current_wal_lsn() end as lsn) w
