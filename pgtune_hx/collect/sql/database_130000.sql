-- database, PostgreSQL 13+: pg_stat_database (checksum_failures since 12) + pg_database.
-- The row with datid 0 counts shared catalogs. size_bytes: pg_database_size, a walk
-- of the database's directory (one stat per file, no lock; tens of milliseconds on
-- 50,000 files), where this role may ask (CONNECT on it or pg_read_all_stats).
select d.datid::int8 as datid, d.datname, d.datname = current_database() as is_current,
       d.numbackends, d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
       d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted,
       d.conflicts, d.temp_files, d.temp_bytes, d.deadlocks,
       d.checksum_failures, d.checksum_last_failure, d.blk_read_time, d.blk_write_time,
       d.stats_reset,
       db.datallowconn, db.datconnlimit,
       age(db.datfrozenxid) as xid_age, mxid_age(db.datminmxid) as mxid_age,
       d.blks_hit::float8 / nullif(d.blks_hit + d.blks_read, 0) as cache_hit_ratio,
       case when db.oid is not null
             and (has_database_privilege(db.oid, 'CONNECT')
                  or pg_has_role('pg_read_all_stats', 'MEMBER'))
            then pg_database_size(db.oid) end as size_bytes
  from pg_stat_database d
  left join pg_database db on db.oid = d.datid
 order by d.datname nulls first
