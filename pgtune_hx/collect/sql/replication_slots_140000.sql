-- replication_slots, PostgreSQL 14+: adds two_phase (logical decoding of prepared
-- transactions).
-- retained_bytes: WAL kept for the slot (current position minus restart_lsn).
with cur as (select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                         else pg_current_wal_lsn() end as lsn)
select s.slot_name, s.plugin, s.slot_type, s.datoid::int8 as datoid, s.database,
       s.temporary, s.active, s.active_pid,
       s.xmin::text::int8 as xmin, s.catalog_xmin::text::int8 as catalog_xmin,
       age(s.xmin) as xmin_age, age(s.catalog_xmin) as catalog_xmin_age,
       s.restart_lsn::text as restart_lsn, s.confirmed_flush_lsn::text as confirmed_flush_lsn,
       s.wal_status, s.safe_wal_size,
       s.two_phase,
       pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::int8 as retained_bytes
  from pg_replication_slots s, cur
 order by s.slot_name
