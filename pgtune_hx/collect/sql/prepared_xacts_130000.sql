-- prepared_xacts, PostgreSQL 13+: pg_prepared_xacts (unchanged since 8.x). A prepared
-- transaction holds its locks and its xmin until COMMIT/ROLLBACK PREPARED, even
-- with no session attached; age_s and xid_age show how long.
select p.transaction::text::int8 as transaction, p.gid, p.prepared, p.owner, p.database,
       extract(epoch from statement_timestamp() - p.prepared)::float8 as age_s,
       age(p.transaction) as xid_age
  from pg_prepared_xacts p
 order by p.prepared
