-- The embedded job queue and job status (docs/reference/jobs-events.md, "Queues"), and the
-- transactional outbox of document events ("The transactional outbox"). Times are Unix
-- milliseconds.
CREATE TABLE IF NOT EXISTS m_jobs (
    id varchar(140) PRIMARY KEY,
    name varchar(140) NOT NULL,
    queue varchar(140) NOT NULL,
    status varchar(10) NOT NULL,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    timeout integer NOT NULL,
    kwargs text NOT NULL,
    result text,
    error text,
    enqueued_at bigint NOT NULL,
    available_at bigint NOT NULL,
    lease_until bigint,
    started_at bigint,
    finished_at bigint
);
CREATE INDEX IF NOT EXISTS ix_m_jobs_due ON m_jobs (queue, status, available_at);
CREATE INDEX IF NOT EXISTS ix_m_jobs_enqueued ON m_jobs (enqueued_at);

CREATE TABLE IF NOT EXISTS m_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at bigint NOT NULL,
    published_at bigint,
    event text NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_m_outbox_unpublished ON m_outbox (published_at, id);

-- One random id per database: outbox message ids are <instance>-<row id>, so two projects (or a
-- recreated database) sharing a NATS server never collide in its duplicate window, and `m serve`
-- ignores events of other databases.
CREATE TABLE IF NOT EXISTS m_instance (
    id varchar(64) PRIMARY KEY
);
