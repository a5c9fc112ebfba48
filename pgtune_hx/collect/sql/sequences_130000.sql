-- sequences, PostgreSQL 13+: the columns of pg_sequences, built from pg_sequence so
-- that last_value is read only where it cannot wait or fail: pg_sequence_last_value
-- locks the sequence (blocked by ALTER SEQUENCE and stronger locks: those in the
-- locked list, or all when the exact flag is off, are skipped) and needs SELECT
-- or USAGE on it.
-- Exhaustion counts against the owning column's type too: a bigint sequence behind
-- an integer column (serial, or an identity altered later) runs out at 2^31-1.
-- used_ratio: share of the usable range consumed; remaining: values left.
with seq as (
  select c.oid, n.nspname as schemaname, c.relname as sequencename,
         pg_get_userbyid(c.relowner) as sequenceowner,
         format_type(s.seqtypid, null) as data_type, s.seqstart as start_value,
         s.seqmin as min_value, s.seqmax as max_value, s.seqincrement as increment_by,
         s.seqcycle as cycle, s.seqcache as cache_size,
         not %(exact)s or c.oid = any(%(locked)s::oid[]) as locked,
         has_sequence_privilege(c.oid, 'SELECT,USAGE') as readable,
         col.owned_by, col.column_type,
         case col.column_type when 'smallint' then 32767 when 'integer' then 2147483647
              else s.seqmax end as type_max,
         case col.column_type when 'smallint' then -32768 when 'integer' then -2147483648
              else s.seqmin end as type_min
    from pg_sequence s
    join pg_class c on c.oid = s.seqrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join lateral (
          select quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || '.'
                 || quote_ident(a.attname) as owned_by,
                 format_type(a.atttypid, null) as column_type
            from pg_depend d
            join pg_class t on t.oid = d.refobjid
            join pg_namespace tn on tn.oid = t.relnamespace
            join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
           where d.classid = 'pg_class'::regclass and d.objid = c.oid
             and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
           limit 1) col on true
   where n.nspname not in ('pg_catalog', 'information_schema')
), val as (
  select seq.*,
         case when not seq.locked and seq.readable
              then pg_sequence_last_value(seq.oid) end as last_value,
         least(seq.max_value, seq.type_max) as usable_max,
         greatest(seq.min_value, seq.type_min) as usable_min
    from seq
)
select v.oid::int8 as seqrelid, v.schemaname, v.sequencename, v.sequenceowner, v.data_type,
       v.start_value, v.min_value, v.max_value, v.increment_by, v.cycle, v.cache_size,
       v.last_value, v.owned_by, v.column_type, v.locked, v.readable,
       case when v.increment_by > 0 then v.usable_max else v.usable_min end as usable_limit,
       case when v.last_value is null then null
            when v.increment_by > 0
            then ((v.last_value::numeric - v.min_value)
                  / nullif(v.usable_max::numeric - v.min_value, 0))::float8
            else ((v.max_value::numeric - v.last_value)
                  / nullif(v.max_value::numeric - v.usable_min, 0))::float8
       end as used_ratio,
       case when v.last_value is null then null
            when v.increment_by > 0
            then floor((v.usable_max::numeric - v.last_value) / v.increment_by)::int8
            else floor((v.last_value - v.usable_min::numeric) / -v.increment_by)::int8
       end as remaining
  from val v
 order by v.schemaname, v.sequencename
