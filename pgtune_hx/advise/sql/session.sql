-- What a session resolves names and LIKE prefixes against.
select current_schemas(false) as search_path,
       (select datcollate from pg_database where datname = current_database()) as collate,
       current_setting('random_page_cost')::float8 as random_page_cost,
       current_setting('seq_page_cost')::float8 as seq_page_cost,
       current_setting('cpu_tuple_cost')::float8 as cpu_tuple_cost,
       current_setting('cpu_index_tuple_cost')::float8 as cpu_index_tuple_cost,
       current_setting('cpu_operator_cost')::float8 as cpu_operator_cost
