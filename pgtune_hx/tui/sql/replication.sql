-- Standbys of this primary, with the replay lag in bytes.
select pid, usename, application_name, client_addr, state, sync_state,
       sent_lsn::text as sent_lsn, write_lsn::text as write_lsn,
       flush_lsn::text as flush_lsn, replay_lsn::text as replay_lsn,
       write_lag, flush_lag, replay_lag,
       case when pg_is_in_recovery() then null
            else pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) end as replay_lag_bytes
  from pg_stat_replication
