-- Semantic search: the 10 nearest documents to a query embedding (cosine
-- distance, HNSW index scan), as a retrieval step before an LLM call.
-- Read-only. Setup: vector_topk.setup.sql (needs pgvector).
\set q random(1, 1000)
select d.id, d.title, d.embedding <=> q.embedding as distance
  from vec_queries q
 cross join lateral (
       select id, title, embedding
         from vec_documents
        order by embedding <=> q.embedding
        limit 10) as d
 where q.id = :q;
