-- Setup of the vector_topk workload (pgvector; the embedded PostgreSQL 18 has it,
-- the system PostgreSQL 15 does not): documents with 64-dimensional embeddings
-- under an HNSW index (cosine), and a fixed set of query vectors. Applied before
-- the runs whenever vector_topk.sql is chosen; it recreates its tables. Per
-- --scale unit: 3,000 documents in 50 tenants; 1,000 queries. Seeded.
create extension if not exists vector;
select setseed(0.42);

drop table if exists vec_documents, vec_queries;

create table vec_documents (
    id         bigint primary key,
    tenant_id  int not null,
    title      text not null,
    embedding  vector(64) not null
);

create table vec_queries (
    id         int primary key,
    embedding  vector(64) not null
);

insert into vec_documents
select g, g % 50, 'document ' || g,
       (select array_agg(random()::real) from generate_series(1, 64) where g > 0)::vector(64)
  from generate_series(1, 3000 * current_setting('pgtune_hx.scale')::int) as g;

insert into vec_queries
select g, (select array_agg(random()::real) from generate_series(1, 64) where g > 0)::vector(64)
  from generate_series(1, 1000) as g;

-- ef_construction below the default 64: a quicker build, still a real HNSW graph
create index vec_documents_embedding on vec_documents using hnsw (embedding vector_cosine_ops)
    with (m = 16, ef_construction = 40);

vacuum analyze vec_documents, vec_queries;
