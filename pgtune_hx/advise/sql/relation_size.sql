-- Size of a relation (here: an index built in a transaction that is rolled back).
select pg_relation_size(to_regclass(%(name)s)) as bytes
