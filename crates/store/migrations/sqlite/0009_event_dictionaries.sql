-- zstd dictionaries trained on a project's own events. A stored event compressed
-- with one names it in its zstd frame (the frame's dictionary id is
-- store::dictionary::FRAME_ID_BASE + this table's id), so a dictionary is never
-- changed or deleted while its project's events remain.
CREATE TABLE event_dictionaries (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    dictionary BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX event_dictionaries_project ON event_dictionaries (project_id, id);
