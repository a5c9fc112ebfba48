-- The demo database: four services of an AI platform, with planted problems.
-- Each "-- step:" block runs as one progress step; "[vector]" steps need pgvector.
-- Parameters: %(rows)s usage log rows; the other counts are derived from it in
-- pgtune_hx/demo/schema.py (Scale) so the shape stays the same at any size.
-- Intervals are written '1 day'::interval: pg_stat_statements turns interval '1 day'
-- into interval $1, which no longer parses, and tools that plan its texts trip on it.

-- step: schemas
create schema gateway;
create schema workflow;
create schema sessions;
create schema rag;

-- step: LLM gateway: teams, virtual keys, budgets
create table gateway.teams (
    id integer primary key,
    name text not null,
    plan text not null,
    created_at timestamptz not null
);
insert into gateway.teams
select g, 'team-' || g, (array['free', 'pro', 'enterprise'])[1 + g %% 3],
       now() - '400 days'::interval + g * '1 hour'::interval
from generate_series(1, %(teams)s) g;
create table gateway.virtual_keys (
    id bigint primary key,
    team_id integer not null references gateway.teams,
    key_hash text not null unique,
    alias text not null,
    allowed_models text[] not null,
    created_at timestamptz not null,
    revoked_at timestamptz
);
insert into gateway.virtual_keys
select g, 1 + (g * 7919) %% %(teams)s, md5('key-' || g), 'key ' || g,
       array['gpt-4o', 'claude-sonnet'],
       now() - '300 days'::interval + g * '10 minutes'::interval,
       case when g %% 20 = 0 then now() - '3 days'::interval end
from generate_series(1, %(keys)s) g;
-- planted: an exact duplicate of a single-column index
create index virtual_keys_team_idx on gateway.virtual_keys (team_id);
create index ix_virtual_keys_team on gateway.virtual_keys (team_id);
create table gateway.budgets (
    key_id bigint primary key references gateway.virtual_keys,
    period_start date not null,
    limit_usd numeric(12, 2) not null,
    spent_usd numeric(14, 6) not null default 0,
    updated_at timestamptz not null default now()
) with (fillfactor = 80);
insert into gateway.budgets (key_id, period_start, limit_usd)
select id, date_trunc('month', now())::date, 50 + (id %% 10) * 100
from gateway.virtual_keys;

-- step: LLM gateway: usage logs
create table gateway.usage_logs (
    id bigint generated always as identity primary key,
    request_id uuid not null,
    key_id bigint not null,
    team_id integer not null,
    model text not null,
    provider text not null,
    prompt_tokens integer not null,
    completion_tokens integer not null,
    cost_usd numeric(12, 6) not null,
    latency_ms integer not null,
    status_code smallint not null,
    error_code text,
    created_at timestamptz not null
);
-- Keys follow a power law (a few keys carry most traffic); time follows the id,
-- as in an append-only log; about 2%% of requests fail.
insert into gateway.usage_logs (request_id, key_id, team_id, model, provider,
    prompt_tokens, completion_tokens, cost_usd, latency_ms, status_code, error_code, created_at)
select md5(g::text)::uuid, k.key_id, 1 + (k.key_id * 7919) %% %(teams)s,
       m.model, m.provider, p.prompt, p.completion,
       round((p.prompt * 0.0000025 + p.completion * 0.00001)::numeric, 6),
       80 + (p.completion * 9) %% 4000,
       case when g %% 50 = 7 then 500 when g %% 211 = 3 then 429 else 200 end,
       case when g %% 50 = 7 then 'upstream_error' when g %% 211 = 3 then 'rate_limited' end,
       now() - (%(rows)s - g) * ('30 days'::interval / %(rows)s) - (g %% 97) * '1 second'::interval
from generate_series(1, %(rows)s) g
cross join lateral (
    select 1 + floor(%(keys)s * power(random(), 4))::bigint as key_id
) k
cross join lateral (
    select (array['gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'llama-3.1-70b', 'mistral-large'])[1 + g %% 5] as model,
           (array['openai', 'openai', 'anthropic', 'groq', 'mistral'])[1 + g %% 5] as provider
) m
cross join lateral (
    select 200 + (g * 37) %% 3800 as prompt, 20 + (g * 53) %% 1200 as completion
) p;

-- step: LLM gateway: the index nobody uses
-- planted: request ids are written on every insert and never looked up
create index usage_logs_request_id_idx on gateway.usage_logs (request_id);

-- step: workflow engine: workflows and executions
create table workflow.workflows (
    id integer primary key,
    team_id integer not null,
    name text not null,
    definition jsonb not null
);
insert into workflow.workflows
select g, 1 + g %% %(teams)s, 'workflow-' || g,
       jsonb_build_object('steps', 3 + g %% 7, 'trigger', (array['cron', 'webhook', 'manual'])[1 + g %% 3])
from generate_series(1, %(workflows)s) g;
create table workflow.executions (
    id bigint generated always as identity primary key,
    workflow_id integer not null references workflow.workflows,
    status text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    data jsonb not null
);
insert into workflow.executions (workflow_id, status, started_at, finished_at, data)
select w, s.status,
       now() - (%(executions)s - g) * ('14 days'::interval / %(executions)s),
       case when s.status <> 'running'
            then now() - (%(executions)s - g) * ('14 days'::interval / %(executions)s) + (g %% 600) * '1 second'::interval end,
       jsonb_build_object(
           'trace_id', md5('trace-' || g),
           'customer', 'cust-' || (g * 31) %% 5000,
           'input', jsonb_build_object('tokens', g %% 4000, 'model', 'gpt-4o'),
           'attempt', 1 + g %% 3)
from generate_series(1, %(executions)s) g
cross join lateral (select 1 + floor(%(workflows)s * power(random(), 2))::integer as w) x
cross join lateral (
    select case when g %% 40 = 0 then 'failed' when g %% 13 = 0 then 'running'
                else 'succeeded' end as status
) s;
-- planted: the same foreign-key index twice
create index executions_workflow_id_idx on workflow.executions (workflow_id);
create index ix_executions_workflow on workflow.executions (workflow_id);

-- step: session store
-- planted: autovacuum is off on a table updated on every request
create table sessions.web_sessions (
    session_id uuid primary key,
    user_id bigint not null,
    data jsonb not null,
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    expires_at timestamptz not null
) with (autovacuum_enabled = false);
insert into sessions.web_sessions
select md5('session-' || g)::uuid, 1 + (g * 13) %% (%(sessions)s / 3 + 1),
       jsonb_build_object('theme', 'dark', 'cart', g %% 5, 'locale', 'en'),
       now() - '2 days'::interval, now() - (g %% 3600) * '1 second'::interval,
       now() + '1 day'::interval
from generate_series(1, %(sessions)s) g;

-- step: RAG store: documents
create table rag.documents (
    id integer primary key,
    collection_id integer not null,
    title text not null,
    source_url text not null,
    created_at timestamptz not null
);
insert into rag.documents
select g, 1 + g %% 20, 'document ' || g, 'https://docs.example.internal/' || g,
       now() - g * '1 hour'::interval
from generate_series(1, %(documents)s) g;

-- step: RAG store: 384-dimension chunks [vector]
create extension if not exists vector;
create table rag.chunks (
    id bigint generated always as identity primary key,
    document_id integer not null references rag.documents,
    chunk_no integer not null,
    content text not null,
    embedding vector(384) not null
);
insert into rag.chunks (document_id, chunk_no, content, embedding)
select 1 + (g - 1) / 8, (g - 1) %% 8,
       'chunk ' || g || ' of a platform runbook: ' || repeat('tokens ', 20),
       (select array_agg(random()::real) from generate_series(1, 384) d where g > 0)::vector
from generate_series(1, %(chunks)s) g;

-- step: RAG store: chunks without embeddings [no-vector]
-- The same table minus the vector column, so the rest of the demo still runs.
create table rag.chunks (
    id bigint generated always as identity primary key,
    document_id integer not null references rag.documents,
    chunk_no integer not null,
    content text not null
);
insert into rag.chunks (document_id, chunk_no, content)
select 1 + (g - 1) / 8, (g - 1) %% 8, 'chunk ' || g || ' of a platform runbook'
from generate_series(1, %(chunks)s) g;
