-- Version records of DocTypes with track_changes: one row per save with the field-level diff.
CREATE TABLE IF NOT EXISTS m_versions (
    id uuid PRIMARY KEY,
    ref_doctype varchar(140) NOT NULL,
    docname varchar(140) NOT NULL,
    data jsonb NOT NULL,
    owner varchar(140),
    creation timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_m_versions_ref ON m_versions (ref_doctype, docname, creation);
