-- Rooms' titles, chat, scheduled messages and whiteboards (issue 5). Times are Unix milliseconds, UTC.
CREATE TABLE rooms (
    name TEXT PRIMARY KEY,
    title TEXT
);

CREATE TABLE chat_messages (
    id BIGSERIAL PRIMARY KEY,
    room TEXT NOT NULL,
    kind TEXT NOT NULL,
    author_key TEXT,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    -- 0 or 1: sqlx's Any driver reads no SQLite booleans.
    late BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX chat_messages_by_room ON chat_messages (room, id);

CREATE TABLE scheduled_messages (
    id BIGSERIAL PRIMARY KEY,
    room TEXT NOT NULL,
    author_key TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX scheduled_messages_pending ON scheduled_messages (status, at);

CREATE TABLE whiteboard_items (
    room TEXT NOT NULL,
    item_id TEXT NOT NULL,
    author_key TEXT NOT NULL,
    item TEXT NOT NULL,
    ord BIGINT NOT NULL,
    PRIMARY KEY (room, item_id)
);
