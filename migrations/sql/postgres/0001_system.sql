-- The framework's own tables (PostgreSQL).
CREATE TABLE IF NOT EXISTS m_migrations (
    app varchar(140) NOT NULL,
    version varchar(140) NOT NULL,
    name varchar(255) NOT NULL,
    checksum varchar(64) NOT NULL,
    applied_at timestamp NOT NULL,
    PRIMARY KEY (app, version)
);

CREATE TABLE IF NOT EXISTS m_migration_history (
    id bigserial PRIMARY KEY,
    applied_at timestamp NOT NULL,
    doctype varchar(140),
    action varchar(40) NOT NULL,
    risk varchar(10) NOT NULL,
    statement text NOT NULL
);

CREATE TABLE IF NOT EXISTS m_series (
    name varchar(255) PRIMARY KEY,
    current bigint NOT NULL
);
