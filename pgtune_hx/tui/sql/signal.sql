-- Signal a backend only if it is still the session the user confirmed (same
-- pid and start time), so a recycled pid is never hit. {function} is
-- pg_cancel_backend or pg_terminate_backend.
select {function}(a.pid) as signalled
  from pg_stat_activity a
 where a.pid = %(pid)s and a.backend_start = %(backend_start)s::timestamptz
