-- Per-tick server facts: the capture clock, restart detection, connection limits.
select clock_timestamp() as captured_at,
       pg_postmaster_start_time() as postmaster_start_time,
       pg_is_in_recovery() as in_recovery,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int as superuser_reserved_connections,
       case when pg_is_in_recovery()
            then extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp())
       end as replay_delay_s
