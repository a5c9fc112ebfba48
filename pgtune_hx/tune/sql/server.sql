-- Version, where the data lives (NULL unless superuser or pg_read_all_settings),
-- and the size of every database this role may connect to.
select current_setting('server_version_num')::int as server_version_num,
       current_setting('server_version') as server_version,
       (select setting from pg_settings where name = 'data_directory') as data_directory,
       pg_postmaster_start_time() as postmaster_start_time,
       now() as captured_at,
       (select sum(pg_database_size(oid))
          from pg_database
         where datallowconn and has_database_privilege(oid, 'CONNECT'))::bigint as db_size_bytes,
       (select extnamespace::regnamespace::text
          from pg_extension where extname = 'pg_stat_statements') as pgss_schema
