//! One room's whiteboard in memory: the items in drawing order and the bounds that keep it small
//! enough to send whole to a late joiner.

use crate::identity::AuthorKey;
use crate::protocol::{ErrorCode, Point, ShapeKind, WhiteboardItem};
use crate::store::BoardRecord;

use super::Failure;

pub const MAX_ITEMS: usize = 10_000;
pub const MAX_POINTS: usize = 500_000;

#[derive(Debug, Default)]
pub struct Board {
    items: Vec<BoardRecord>,
    points: usize,
    next_order: i64,
}

impl Board {
    pub fn new(items: Vec<BoardRecord>) -> Self {
        let points = items.iter().map(|record| record.item.points.len()).sum();
        let next_order = items.last().map_or(0, |record| record.order + 1);
        Self {
            items,
            points,
            next_order,
        }
    }

    pub fn items(&self) -> &[BoardRecord] {
        &self.items
    }

    /// Adds a validated item drawn by `author`.
    pub fn add(
        &mut self,
        author: &AuthorKey,
        item: WhiteboardItem,
    ) -> Result<&BoardRecord, Failure> {
        if self.items.len() >= MAX_ITEMS {
            return Err(full());
        }
        self.make_room_for(item.points.len())?;
        if self.items.iter().any(|record| record.item.id == item.id) {
            return Err(Failure::new(
                ErrorCode::InvalidWhiteboardItem,
                "an item with this id is on the board",
            ));
        }
        self.points += item.points.len();
        self.items.push(BoardRecord {
            author_key: author.clone(),
            order: self.next_order,
            item: WhiteboardItem {
                mine: false,
                ..item
            },
        });
        self.next_order += 1;
        Ok(self.items.last().expect("just pushed"))
    }

    /// Appends validated points to the author's own pen or eraser stroke.
    pub fn extend(
        &mut self,
        author: &AuthorKey,
        id: &str,
        points: &[Point],
    ) -> Result<(), Failure> {
        self.make_room_for(points.len())?;
        let Some(record) = self.items.iter_mut().find(|record| record.item.id == id) else {
            return Err(Failure::new(
                ErrorCode::InvalidWhiteboardItem,
                format!("no item {id:?} on the board"),
            ));
        };
        if &record.author_key != author {
            return Err(Failure::new(
                ErrorCode::NotAuthor,
                "only its author extends a stroke",
            ));
        }
        if !matches!(record.item.kind, ShapeKind::Pen | ShapeKind::Eraser) {
            return Err(Failure::new(
                ErrorCode::InvalidWhiteboardItem,
                "only pen and eraser strokes are extended",
            ));
        }
        record.item.points.extend_from_slice(points);
        self.points += points.len();
        Ok(())
    }

    /// Removes the author's most recent item, if any.
    pub fn undo(&mut self, author: &AuthorKey) -> Option<BoardRecord> {
        let index = self
            .items
            .iter()
            .rposition(|record| &record.author_key == author)?;
        let record = self.items.remove(index);
        self.points -= record.item.points.len();
        Some(record)
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.points = 0;
    }

    fn make_room_for(&self, points: usize) -> Result<(), Failure> {
        if self.points + points > MAX_POINTS {
            return Err(full());
        }
        Ok(())
    }
}

fn full() -> Failure {
    Failure::new(
        ErrorCode::WhiteboardFull,
        format!("the board is full ({MAX_ITEMS} items or {MAX_POINTS} points): undo or clear"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> AuthorKey {
        AuthorKey::from_identity(&format!("identity-of-{name}-0123456789")).unwrap()
    }

    fn stroke(id: &str, points: usize) -> WhiteboardItem {
        WhiteboardItem {
            id: id.into(),
            kind: ShapeKind::Pen,
            color: "#000000".into(),
            width: 2.0,
            points: vec![[0.5, 0.5]; points],
            text: None,
            mine: true,
        }
    }

    #[test]
    fn extend_and_undo_are_the_authors_own() {
        let (ada, bob) = (key("ada"), key("bob"));
        let mut board = Board::default();
        board.add(&ada, stroke("a1", 2)).unwrap();
        board.add(&bob, stroke("b1", 1)).unwrap();
        board.add(&ada, stroke("a2", 1)).unwrap();
        board.extend(&ada, "a1", &[[0.1, 0.1]]).unwrap();
        assert_eq!(board.items()[0].item.points.len(), 3);
        assert_eq!(
            board.extend(&bob, "a1", &[[0.1, 0.1]]).unwrap_err().code,
            ErrorCode::NotAuthor
        );
        assert_eq!(
            board.extend(&ada, "zz", &[[0.1, 0.1]]).unwrap_err().code,
            ErrorCode::InvalidWhiteboardItem
        );
        assert_eq!(board.undo(&ada).unwrap().item.id, "a2");
        assert_eq!(board.undo(&ada).unwrap().item.id, "a1");
        assert_eq!(board.undo(&ada), None);
        assert_eq!(board.items().len(), 1);
        assert!(
            !board.items()[0].item.mine,
            "mine is rendered per reader, not stored"
        );
    }

    #[test]
    fn the_board_is_bounded_by_items_and_points() {
        let ada = key("ada");
        let mut board = Board::default();
        board.add(&ada, stroke("big", MAX_POINTS - 1)).unwrap();
        assert_eq!(
            board.add(&ada, stroke("x", 2)).unwrap_err().code,
            ErrorCode::WhiteboardFull
        );
        board.extend(&ada, "big", &[[0.0, 0.0]]).unwrap();
        assert_eq!(
            board.extend(&ada, "big", &[[0.0, 0.0]]).unwrap_err().code,
            ErrorCode::WhiteboardFull
        );
        board.clear();
        for n in 0..MAX_ITEMS {
            board.add(&ada, stroke(&n.to_string(), 1)).unwrap();
        }
        assert_eq!(
            board.add(&ada, stroke("one-more", 1)).unwrap_err().code,
            ErrorCode::WhiteboardFull
        );
    }

    #[test]
    fn a_reloaded_board_continues_the_drawing_order() {
        let ada = key("ada");
        let mut board = Board::default();
        board.add(&ada, stroke("a", 1)).unwrap();
        board.add(&ada, stroke("b", 1)).unwrap();
        let mut reloaded = Board::new(board.items().to_vec());
        assert_eq!(reloaded.add(&ada, stroke("c", 1)).unwrap().order, 2);
        assert_eq!(
            reloaded.add(&ada, stroke("a", 1)).unwrap_err().code,
            ErrorCode::InvalidWhiteboardItem
        );
    }
}
