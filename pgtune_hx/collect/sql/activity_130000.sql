-- activity, PostgreSQL 13+: pg_stat_activity (leader_pid is new in 13: a parallel
-- worker's leader). Our own backend is left out. Ages are seconds at the moment
-- this statement ran; blocked_by comes from pg_blocking_pids() and is asked only
-- of backends waiting on a lock (it takes the lock manager's partition locks).
select a.datid::int8 as datid, a.datname, a.pid, a.leader_pid, a.usesysid::int8 as usesysid,
       a.usename, a.application_name, a.client_addr::text as client_addr,
       a.client_hostname, a.client_port, a.backend_start, a.xact_start, a.query_start,
       a.state_change, a.wait_event_type, a.wait_event, a.state,
       a.backend_xid::text::int8 as backend_xid, a.backend_xmin::text::int8 as backend_xmin,
       null::text as query_id, a.query, a.backend_type,
       extract(epoch from statement_timestamp() - a.backend_start)::float8 as backend_age_s,
       extract(epoch from statement_timestamp() - a.xact_start)::float8 as xact_age_s,
       extract(epoch from statement_timestamp() - a.query_start)::float8 as query_age_s,
       extract(epoch from statement_timestamp() - a.state_change)::float8 as state_age_s,
       age(a.backend_xmin) as backend_xmin_age,
       case when a.wait_event_type = 'Lock' then pg_blocking_pids(a.pid) end as blocked_by
  from pg_stat_activity a
 where a.pid <> pg_backend_pid()
 order by a.pid
