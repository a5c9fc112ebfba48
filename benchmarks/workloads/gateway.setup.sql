-- Setup of the gateway workload: an LLM gateway's virtual API keys and usage log.
-- Applied by `pgtune-hx bench pgbench` before the runs whenever gateway.sql is chosen;
-- it recreates its tables, so every benchmark starts from the same data.
-- Size follows --scale (pgtune_hx.scale): per unit, 200 teams, 10,000 keys and
-- 20,000 usage rows already logged. Random data is seeded: same data every time.
select setseed(0.42);

drop table if exists gw_usage_logs, gw_virtual_keys, gw_teams;

create table gw_teams (
    id          int primary key,
    name        text not null,
    max_budget  numeric(12, 4),
    spend       numeric(14, 6) not null default 0
);

-- The gateway stores a hash of each key and looks requests up by it.
create table gw_virtual_keys (
    id          bigint primary key,
    token_hash  text not null unique,
    team_id     int not null references gw_teams,
    key_alias   text,
    models      text[] not null,
    max_budget  numeric(12, 4),
    spend       numeric(14, 6) not null default 0,
    rpm_limit   int,
    tpm_limit   int,
    blocked     boolean not null default false,
    expires_at  timestamptz,
    metadata    jsonb not null default '{}',
    created_at  timestamptz not null default now()
);

create table gw_usage_logs (
    id                 bigint generated always as identity primary key,
    request_id         uuid not null default gen_random_uuid(),
    key_id             bigint not null,
    team_id            int not null,
    model              text not null,
    prompt_tokens      int not null,
    completion_tokens  int not null,
    spend              numeric(14, 6) not null,
    latency_ms         int not null,
    status             smallint not null,
    created_at         timestamptz not null default now()
);

insert into gw_teams (id, name, max_budget)
select g, 'team-' || g, 500 + (g % 10) * 100
  from generate_series(1, 200 * current_setting('pgtune_hx.scale')::int) as g;

insert into gw_virtual_keys
    (id, token_hash, team_id, key_alias, models, max_budget, rpm_limit, tpm_limit,
     blocked, expires_at, metadata)
select g,
       encode(sha256(convert_to('key-' || g, 'UTF8')), 'hex'),
       1 + g % (200 * current_setting('pgtune_hx.scale')::int),
       'svc-' || g,
       case g % 3 when 0 then array['gpt-4o', 'gpt-4o-mini']
                  when 1 then array['claude-sonnet', 'claude-haiku']
                  else array['llama-3-70b', 'mistral-large'] end,
       case when g % 4 = 0 then null else 50 + g % 200 end,
       600, 100000,
       g % 97 = 0,
       case when g % 5 = 0 then now() + interval '90 days' end,
       jsonb_build_object('env', (array['prod', 'staging', 'dev'])[1 + g % 3], 'owner', 'user-' || g % 1000)
  from generate_series(1, 10000 * current_setting('pgtune_hx.scale')::int) as g;

insert into gw_usage_logs
    (key_id, team_id, model, prompt_tokens, completion_tokens, spend, latency_ms, status, created_at)
select k, 1 + k % (200 * current_setting('pgtune_hx.scale')::int), 'gpt-4o-mini', p, c,
       p * 0.000003 + c * 0.000015, 80 + (random() * 3000)::int, 200,
       now() - random() * interval '30 days'
  from (select 1 + (random() * (10000 * current_setting('pgtune_hx.scale')::int - 1))::bigint as k,
               50 + (random() * 4000)::int as p,
               10 + (random() * 1000)::int as c
          from generate_series(1, 20000 * current_setting('pgtune_hx.scale')::int)) as s;

create index gw_usage_logs_key_time on gw_usage_logs (key_id, created_at);
create index gw_usage_logs_time on gw_usage_logs (created_at);

vacuum analyze gw_teams, gw_virtual_keys, gw_usage_logs;
