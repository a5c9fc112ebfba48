-- Per-refresh server facts: the capture time (the refresh transaction's start,
-- as a full snapshot's identity has it), restart detection, connection limits.
select now() as captured_at,
       pg_postmaster_start_time() as postmaster_start_time,
       pg_is_in_recovery() as in_recovery,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int as superuser_reserved_connections,
       case when pg_is_in_recovery()
            then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8
       end as replay_delay_s
