-- A hypothetical index (HypoPG): kept in this backend's memory, no catalog write.
select indexrelid::int8 as handle, indexname as name, hypopg_relation_size(indexrelid) as bytes
  from hypopg_create_index(%(definition)s)
