-- What issue 14 (hardening) keeps: whiteboard growth, bounded scheduled messages, viewers' chat.

-- Points added to a stroke after it was first stored (whiteboard_extend), in order: a stroke that
-- grows is stored by what it gained, not written again whole. Each row is a JSON array
-- of points; the stroke is its item's points followed by its rows' by id.
CREATE TABLE whiteboard_points (
    id BIGSERIAL PRIMARY KEY,
    room TEXT NOT NULL,
    item_id TEXT NOT NULL,
    points TEXT NOT NULL
);
CREATE INDEX whiteboard_points_by_item ON whiteboard_points (room, item_id, id);

-- Pending scheduled messages are counted per room and per author before each new one.
CREATE INDEX scheduled_messages_by_room ON scheduled_messages (room, status, author_key);

-- Whether a room's viewers may write in the chat, a setting its hosts keep (0 or 1).
ALTER TABLE rooms ADD COLUMN viewers_chat BIGINT NOT NULL DEFAULT 0;
