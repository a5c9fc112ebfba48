-- WAL written since the WAL statistics were reset (pg_stat_wal, PG 14+).
select wal_bytes::bigint as wal_bytes, wal_fpi, wal_buffers_full, stats_reset
from pg_stat_wal
