-- Write activity of a table since its statistics were reset, and how long ago
-- that was (pg_stat_database.stats_reset, else the server start).
select coalesce(t.n_tup_ins, 0)::int8 as n_tup_ins,
       coalesce(t.n_tup_upd, 0)::int8 as n_tup_upd,
       coalesce(t.n_tup_del, 0)::int8 as n_tup_del,
       coalesce(t.n_tup_hot_upd, 0)::int8 as n_tup_hot_upd,
       coalesce(t.n_live_tup, 0)::int8 as n_live_tup,
       coalesce(t.seq_scan, 0)::int8 as seq_scan,
       coalesce(t.idx_scan, 0)::int8 as idx_scan,
       extract(epoch from now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8
         as window_s
  from pg_stat_user_tables t
  cross join (select stats_reset from pg_stat_database where datname = current_database()) d
 where t.relid = %(oid)s
