-- Room settings a host sets that outlive a meeting (issue 6): the password (an argon2 PHC string)
-- and the lobby. 0 or 1 for the lobby: sqlx's Any driver reads no SQLite booleans.
ALTER TABLE rooms ADD COLUMN password_hash TEXT;
ALTER TABLE rooms ADD COLUMN lobby BIGINT NOT NULL DEFAULT 0;
