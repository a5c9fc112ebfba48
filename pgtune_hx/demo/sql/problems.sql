-- Problems planted after the load, in order. Statistics are gathered first, so the
-- session store's later churn leaves its statistics stale as well as bloated.

-- step: planner statistics
analyze;

-- step: session churn without autovacuum (bloat)
update sessions.web_sessions set last_seen_at = last_seen_at + '1 second'::interval;
update sessions.web_sessions set last_seen_at = last_seen_at + '1 second'::interval,
    data = data || '{"seen": 2}';
