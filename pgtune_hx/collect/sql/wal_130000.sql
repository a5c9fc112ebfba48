-- wal, PostgreSQL 13: no pg_stat_wal yet; the current WAL position alone still
-- gives the WAL rate between two snapshots (wal_lsn_bytes).
select w.lsn::text as wal_lsn, pg_wal_lsn_diff(w.lsn, '0/0')::int8 as wal_lsn_bytes
  from (select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                    else pg_current_wal_lsn() end as lsn) w
