-- The demo workload: one "-- query: name" block per statement the services run.
-- Parameters are drawn by pgtune_hx/demo/workload.py from a seeded generator, so a
-- rerun executes exactly the same statements with the same values in the same order.

-- query: gateway.key_recent_usage
-- A key's dashboard: its latest requests. Wants (key_id, created_at).
select id, model, prompt_tokens, completion_tokens, cost_usd, created_at
from gateway.usage_logs
where key_id = %(key_id)s and created_at >= now() - '2 days'::interval
order by created_at desc
limit 50;

-- query: gateway.team_spend_by_model
-- Billing page: a team's spend per model this week. Wants (team_id, created_at).
select model, count(*) as requests, sum(cost_usd) as cost,
       sum(prompt_tokens + completion_tokens) as tokens
from gateway.usage_logs
where team_id = %(team_id)s and created_at >= now() - '7 days'::interval
group by model
order by cost desc;

-- query: gateway.recent_errors
-- On-call view of failed requests. Wants a partial index: error_code is rarely set.
select id, key_id, model, status_code, error_code, created_at
from gateway.usage_logs
where error_code is not null and created_at >= now() - '6 hours'::interval
order by created_at desc
limit 100;

-- query: gateway.top_keys_today
-- Spend leaderboard: a hash aggregate over a day of logs that spills under the
-- demo database's small work_mem.
select key_id, count(*) as requests, sum(cost_usd) as cost
from gateway.usage_logs
where created_at >= now() - '1 day'::interval
group by key_id
order by cost desc
limit 20;

-- query: gateway.monthly_invoice
-- Month-to-date spend per key from a running sum: the window's sort of a month
-- of logs spills to temporary files under the demo database's 64kB work_mem.
select key_id, max(running) as month_to_date
from (
    select key_id, sum(cost_usd) over (partition by key_id order by created_at) as running
    from gateway.usage_logs
    where created_at >= now() - '30 days'::interval
) per_key
group by key_id
order by month_to_date desc
limit 20;

-- query: gateway.key_lookup
-- Authenticating a request: served by the unique index on key_hash.
select id, team_id, allowed_models
from gateway.virtual_keys
where key_hash = %(key_hash)s and revoked_at is null;

-- query: gateway.charge_budget
update gateway.budgets
set spent_usd = spent_usd + %(cost)s, updated_at = now()
where key_id = %(key_id)s;

-- query: gateway.log_usage
insert into gateway.usage_logs (request_id, key_id, team_id, model, provider,
    prompt_tokens, completion_tokens, cost_usd, latency_ms, status_code, created_at)
values (%(request_id)s, %(key_id)s, %(team_id)s, 'gpt-4o', 'openai',
    %(tokens)s, %(tokens)s / 4, %(cost)s, 420, 200, now());

-- query: workflow.executions_by_status
-- Run history filtered by status. Wants (workflow_id, status, started_at).
select id, status, started_at, finished_at
from workflow.executions
where workflow_id = %(workflow_id)s and status = %(status)s
order by started_at desc
limit 20;

-- query: workflow.execution_by_trace
-- Looking up a run from a trace id inside the JSONB payload: no index serves it.
select id, workflow_id, status, data
from workflow.executions
where data ->> 'trace_id' = %(trace_id)s;

-- query: workflow.finish_execution
update workflow.executions
set status = 'succeeded', finished_at = now(), data = data || '{"attempt": 2}'
where id = %(execution_id)s;

-- query: sessions.get_session
select user_id, data, expires_at
from sessions.web_sessions
where session_id = %(session_id)s and expires_at > now();

-- query: sessions.touch_session
update sessions.web_sessions
set last_seen_at = now()
where session_id = %(session_id)s;

-- query: sessions.user_sessions
-- Signing a user out everywhere. Wants (user_id).
select session_id, last_seen_at
from sessions.web_sessions
where user_id = %(user_id)s;

-- query: rag.document_chunks
-- Assembling a document for display. Wants (document_id, chunk_no).
select chunk_no, content
from rag.chunks
where document_id = %(document_id)s
order by chunk_no;

-- query: rag.nearest_chunks [vector]
-- Retrieval: exact nearest neighbours by cosine distance (no ANN index).
select id, document_id, chunk_no
from rag.chunks
order by embedding <=> %(embedding)s::vector
limit 10;
