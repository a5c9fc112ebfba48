-- identity, PostgreSQL 13+: who the server is and when this snapshot was taken.
-- system_identifier needs EXECUTE on pg_control_system() (superuser by default),
-- data_directory needs pg_read_all_settings: both are null when not permitted.
-- next_xid is the xmax of our snapshot (pg_current_snapshot is 13+); it measures
-- XID consumption between snapshots without assigning an XID ourselves.
select now() as captured_at,
       current_setting('server_version_num')::int as server_version_num,
       current_setting('server_version') as server_version,
       version() as version_string,
       current_database() as database,
       current_user as role,
       pg_postmaster_start_time() as postmaster_start_time,
       pg_conf_load_time() as conf_load_time,
       pg_is_in_recovery() as in_recovery,
       case when has_function_privilege('pg_control_system()', 'EXECUTE')
            then (select system_identifier::text from pg_control_system()) end
           as system_identifier,
       (select setting from pg_settings where name = 'data_directory') as data_directory,
       current_setting('block_size')::int as block_size,
       current_setting('port')::int as port,
       case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
            else pg_current_wal_lsn() end::text as wal_lsn,
       pg_snapshot_xmax(pg_current_snapshot())::text::bigint as next_xid,
       inet_server_addr()::text as server_addr
