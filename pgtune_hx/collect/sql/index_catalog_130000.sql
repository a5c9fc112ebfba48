-- index_catalog, PostgreSQL 13+: the operator classes (default or not, the name as
-- pg_get_indexdef prints it: schema-qualified when not visible), the collations
-- indexes use and which access methods order their keys (DESC / NULLS FIRST only
-- print for those). One row of JSON values, keyed by oid (as text) or name.
select
  (select json_object_agg(o.oid::text,
            json_build_object('name', case when pg_opclass_is_visible(o.oid) then ''
                                           else quote_ident(n.nspname) || '.' end
                                      || quote_ident(o.opcname),
                              'default', o.opcdefault))
     from pg_opclass o join pg_namespace n on n.oid = o.opcnamespace) as opclasses,
  (select json_object_agg(c.oid::text, case when pg_collation_is_visible(c.oid) then ''
                                            else quote_ident(n.nspname) || '.' end
                                       || quote_ident(c.collname))
     from pg_collation c join pg_namespace n on n.oid = c.collnamespace
    where c.oid in (select unnest(indcollation::oid[]) from pg_index)) as collations,
  (select json_object_agg(amname, pg_indexam_has_property(oid, 'can_order'))
     from pg_am where amtype = 'i') as ordered
