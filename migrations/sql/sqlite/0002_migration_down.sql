-- Versioned migrations keep their down SQL (so `m migrate rollback` works even when the file
-- changed or is gone) and the order they ran in (SQLite).
ALTER TABLE m_migrations ADD COLUMN down_sql text;
ALTER TABLE m_migrations ADD COLUMN seq integer;

-- Number the rows that exist already by time; within one run the framework's come first.
UPDATE m_migrations SET seq = (
    SELECT COUNT(*) FROM m_migrations AS o
    WHERE (o.applied_at, CASE WHEN o.app = 'm' THEN 0 ELSE 1 END, o.app, o.version)
       <= (m_migrations.applied_at, CASE WHEN m_migrations.app = 'm' THEN 0 ELSE 1 END,
           m_migrations.app, m_migrations.version)
);

CREATE UNIQUE INDEX m_migrations_seq ON m_migrations (seq);
