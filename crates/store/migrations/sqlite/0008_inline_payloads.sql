-- Nothing to do on SQLite, which stores payloads inline and never compresses them
-- itself. PostgreSQL stops trying to compress its already compressed payloads (see
-- the PostgreSQL migration).
SELECT 1;
