-- Versioned migrations keep their down SQL (so `m migrate rollback` works even when the file
-- changed or is gone) and the order they ran in (PostgreSQL).
ALTER TABLE m_migrations ADD COLUMN down_sql text;
ALTER TABLE m_migrations ADD COLUMN seq bigint;

-- Number the rows that exist already by time; within one run the framework's come first.
UPDATE m_migrations AS t SET seq = (
    SELECT COUNT(*) FROM m_migrations AS o
    WHERE (o.applied_at, CASE WHEN o.app = 'm' THEN 0 ELSE 1 END, o.app, o.version)
       <= (t.applied_at, CASE WHEN t.app = 'm' THEN 0 ELSE 1 END, t.app, t.version)
);

CREATE UNIQUE INDEX m_migrations_seq ON m_migrations (seq);
