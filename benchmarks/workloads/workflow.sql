-- Workflow engine reads: open a workflow in the editor (its JSONB node graph),
-- list its latest executions, open one execution's run data, and find recent
-- failures at a node with a JSONB containment query (GIN, jsonb_path_ops).
-- Read-only. Setup: workflow.setup.sql.
\set wf random(1, 500 * :scale)
\set ex random(1, 10000 * :scale)
\set node random(1, 5)
select id, name, active, nodes, settings from wf_workflows where id = :wf;
select id, status, mode, started_at, stopped_at, data ->> 'lastNodeExecuted' as last_node
  from wf_executions
 where workflow_id = :wf
 order by started_at desc
 limit 20;
select id, status, data #> '{resultData,runData}' as run_data,
       jsonb_path_query_array(data, '$.resultData.runData.*[*].executionTime') as times
  from wf_executions
 where id = :ex;
select id, workflow_id, started_at
  from wf_executions
 where data @> jsonb_build_object('status', 'error', 'failedNode', 'node-' || :node)
 order by id desc
 limit 10;
