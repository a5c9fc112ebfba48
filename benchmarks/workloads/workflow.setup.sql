-- Setup of the workflow workload: a workflow engine's workflows (JSONB node graphs)
-- and their executions (JSONB run data). Applied before the runs whenever
-- workflow.sql is chosen; it recreates its tables. Per --scale unit: 500 workflows
-- of 5-20 nodes and 10,000 executions. Random data is seeded.
select setseed(0.42);

drop table if exists wf_executions, wf_workflows;

create table wf_workflows (
    id          int primary key,
    name        text not null,
    active      boolean not null,
    nodes       jsonb not null,
    settings    jsonb not null,
    updated_at  timestamptz not null
);

create table wf_executions (
    id           bigint primary key,
    workflow_id  int not null,
    status       text not null,
    mode         text not null,
    started_at   timestamptz not null,
    stopped_at   timestamptz,
    data         jsonb not null
);

insert into wf_workflows
select w, 'workflow ' || w, w % 7 <> 0,
       (select jsonb_agg(jsonb_build_object(
                   'name', 'node-' || n,
                   'type', (array['webhook', 'httpRequest', 'code', 'if', 'set', 'postgres'])[1 + (w + n) % 6],
                   'position', jsonb_build_array(n * 220, (w + n) % 5 * 120),
                   'parameters', jsonb_build_object('timeout', 1000 * n, 'retry', n % 3 = 0)))
          from generate_series(1, 5 + w % 16) as n),
       jsonb_build_object('timezone', 'UTC', 'saveExecutionProgress', w % 2 = 0,
                          'errorWorkflow', case when w % 9 = 0 then w + 1 end),
       now() - w * interval '1 hour'
  from generate_series(1, 500 * current_setting('pgtune_hx.scale')::int) as w;

insert into wf_executions
select e, wf, st,
       (array['trigger', 'webhook', 'manual'])[1 + e % 3],
       now() - e * interval '13 seconds',
       now() - e * interval '13 seconds' + (50 + e % 5000) * interval '1 millisecond',
       jsonb_build_object(
           'status', st,
           'lastNodeExecuted', 'node-' || (1 + e % 5),
           'failedNode', case when st = 'error' then 'node-' || (1 + e % 5) end,
           'resultData', jsonb_build_object(
               'runData', (select jsonb_object_agg('node-' || n, jsonb_build_array(jsonb_build_object(
                                'executionTime', (e * n) % 900, 'items', (e + n) % 40,
                                'startTime', extract(epoch from now())::bigint - e)))
                             from generate_series(1, 5) as n)))
  from (select e, 1 + (random() * (500 * current_setting('pgtune_hx.scale')::int - 1))::int as wf,
               case when random() < 0.08 then 'error' else 'success' end as st
          from generate_series(1, 10000 * current_setting('pgtune_hx.scale')::int) as e) as s;

create index wf_executions_workflow_started on wf_executions (workflow_id, started_at desc);
create index wf_executions_data on wf_executions using gin (data jsonb_path_ops);

vacuum analyze wf_workflows, wf_executions;
