-- pg_stat_wal (14+): the columns every version from 14 to 18 has.
select wal_records, wal_fpi, wal_bytes, wal_buffers_full, stats_reset
  from pg_stat_wal
