-- Statements that spilled to temp files, by temp blocks written (pg_stat_statements).
-- {pgss} is the extension's view, schema-qualified by the caller.
select s.queryid, d.datname, s.calls, s.temp_blks_written, s.temp_blks_read,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), 120) as query
from {pgss} s
left join pg_database d on d.oid = s.dbid
where s.temp_blks_written > 0
order by s.temp_blks_written desc
limit 50
