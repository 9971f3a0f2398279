-- Cluster mode (docs/cluster.md): the highest fencing epoch under which each room's home wrote. A
-- write only a room's home may make (whiteboard, title, settings) first raises it to its own
-- epoch, and is refused when it is already higher: a former home never overwrites its successor.
CREATE TABLE room_epochs (
    room TEXT PRIMARY KEY,
    epoch BIGINT NOT NULL
);
