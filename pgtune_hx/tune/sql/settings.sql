-- Every setting with its bounds, unit and context: the validation table of the live server.
select name, setting, unit, vartype, context, min_val, max_val, enumvals, boot_val,
       reset_val, source, pending_restart
from pg_settings
