-- Planner statistics of a table's columns; arrays as text so any type reads back.
select s.attname::text as column,
       s.null_frac::float8 as null_frac,
       s.avg_width::int as avg_width,
       s.n_distinct::float8 as n_distinct,
       s.most_common_vals::text::text[] as mcv,
       s.most_common_freqs::float8[] as mcf,
       s.correlation::float8 as correlation
  from pg_stats s
 where s.schemaname = %(schema)s
   and s.tablename = %(name)s
   and not s.inherited
