-- archiver, PostgreSQL 13+: pg_stat_archiver (unchanged since 9.4) with archive_mode;
-- failing: the last attempt failed after the last success.
select a.archived_count, a.last_archived_wal, a.last_archived_time, a.failed_count,
       a.last_failed_wal, a.last_failed_time, a.stats_reset,
       current_setting('archive_mode') as archive_mode,
       coalesce(a.last_failed_time > a.last_archived_time
                or (a.last_failed_time is not null and a.last_archived_time is null),
                false) as failing
  from pg_stat_archiver a
