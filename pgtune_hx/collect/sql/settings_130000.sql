-- settings, PostgreSQL 13+: pg_settings as the view has it since 9.5 (pending_restart);
-- extra_desc is left out (long prose, in the manual). Rows this role may not read
-- (superuser-only settings without pg_read_all_settings) are absent from the view.
select s.name, s.setting, s.unit, s.category, s.short_desc, s.context, s.vartype,
       s.source, s.min_val, s.max_val, s.enumvals, s.boot_val, s.reset_val,
       s.sourcefile, s.sourceline, s.pending_restart,
       s.source not in ('default', 'override') as non_default
  from pg_settings s
 order by s.name
