-- file_settings, PostgreSQL 13+: pg_file_settings, what the configuration files say
-- now (applied = false: overridden, or not applied until a reload/restart; error:
-- the line is invalid). Readable by superusers only unless granted.
select f.sourcefile, f.sourceline, f.seqno, f.name, f.setting, f.applied, f.error
  from pg_file_settings f
 order by f.seqno
