-- LLM gateway request path: authenticate a request by the hash of its virtual key
-- (with its team's budget), then log the request's usage. A few keys are hot
-- (zipfian), as with real API traffic. Setup: gateway.setup.sql.
\set key random_zipfian(1, 10000 * :scale, 1.1)
\set prompt random(50, 4000)
\set completion random(10, 1000)
\set latency random(80, 4000)
select k.id, k.team_id, k.models, k.max_budget, k.spend, k.rpm_limit, k.tpm_limit,
       k.blocked, k.expires_at, t.max_budget as team_budget, t.spend as team_spend
  from gw_virtual_keys k
  join gw_teams t on t.id = k.team_id
 where k.token_hash = encode(sha256(convert_to('key-' || :key, 'UTF8')), 'hex');
insert into gw_usage_logs
    (key_id, team_id, model, prompt_tokens, completion_tokens, spend, latency_ms, status)
select id, team_id, models[1], :prompt, :completion,
       :prompt * 0.000003 + :completion * 0.000015, :latency, 200
  from gw_virtual_keys
 where id = :key;
