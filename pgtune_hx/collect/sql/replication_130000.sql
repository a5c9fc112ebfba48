-- replication, PostgreSQL 13+: pg_stat_replication (unchanged since 12), lags in
-- seconds and, on a primary, in bytes behind the current WAL position.
with cur as (select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                         else pg_current_wal_lsn() end as lsn)
select r.pid, r.usesysid::int8 as usesysid, r.usename, r.application_name,
       r.client_addr::text as client_addr, r.client_hostname, r.client_port,
       r.backend_start, r.backend_xmin::text::int8 as backend_xmin,
       age(r.backend_xmin) as backend_xmin_age, r.state,
       r.sent_lsn::text as sent_lsn, r.write_lsn::text as write_lsn,
       r.flush_lsn::text as flush_lsn, r.replay_lsn::text as replay_lsn,
       extract(epoch from r.write_lag)::float8 as write_lag_s,
       extract(epoch from r.flush_lag)::float8 as flush_lag_s,
       extract(epoch from r.replay_lag)::float8 as replay_lag_s,
       r.sync_priority, r.sync_state, r.reply_time,
       pg_wal_lsn_diff(cur.lsn, r.sent_lsn)::int8 as sent_lag_bytes,
       pg_wal_lsn_diff(cur.lsn, r.flush_lsn)::int8 as flush_lag_bytes,
       pg_wal_lsn_diff(cur.lsn, r.replay_lsn)::int8 as replay_lag_bytes
  from pg_stat_replication r, cur
 order by r.pid
