-- pgbench -f: the two statements of GET /api/v1/Customer?limit=20&count=exact (core/src/
-- repository.cpp: list with the default order modified DESC + the id tie-breaker, then the count).
SELECT * FROM "customer" ORDER BY "modified" DESC, "id" ASC LIMIT 20 OFFSET 0;
SELECT COUNT(*) FROM "customer";
