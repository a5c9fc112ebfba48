-- pg_stat_activity (14+: query_id), without our own backend.
-- pg_blocking_pids() takes the lock manager's partition locks, so it is called
-- only for sessions that wait on a heavyweight lock.
select a.datid, a.datname, a.pid, a.leader_pid, a.usesysid, a.usename, a.application_name,
       a.client_addr, a.client_hostname, a.client_port, a.backend_start, a.xact_start,
       a.query_start, a.state_change, a.wait_event_type, a.wait_event, a.state,
       a.backend_xid::text as backend_xid, a.backend_xmin::text as backend_xmin,
       age(a.backend_xmin) as backend_xmin_age, a.query_id, a.query, a.backend_type,
       case when a.wait_event_type = 'Lock' then pg_blocking_pids(a.pid) end as blocked_by
  from pg_stat_activity a
 where a.pid <> pg_backend_pid()
