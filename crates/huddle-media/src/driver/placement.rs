//! Which worker a participant is placed on. A room's members stay together while that keeps the
//! workers within [`SPREAD_SLACK`] participants of each other; past it a room spreads, so one
//! large room uses every worker ([`crate::relay`] carries its frames between them). A worker that
//! sheds load takes newcomers only when every worker does (and then refuses them). Pure state.

use std::collections::HashMap;

use crate::demux::WorkerId;
use crate::ids::{ParticipantId, RoomId};

/// How many more participants than the least loaded worker a room's worker may carry before the
/// room spreads to another: rooms of two or three stay on one worker (no hop), larger ones split
/// evenly. A hop costs a frame's copy into another worker's channel, far less than the SRTP and
/// send of one subscriber.
pub const SPREAD_SLACK: usize = 2;

#[derive(Debug)]
pub struct Placement {
    load: Vec<usize>,
    placed: HashMap<ParticipantId, (RoomId, WorkerId)>,
    /// Members of each room on each worker.
    rooms: HashMap<RoomId, Vec<usize>>,
}

impl Placement {
    pub fn new(workers: usize) -> Self {
        Placement {
            load: vec![0; workers.max(1)],
            placed: HashMap::new(),
            rooms: HashMap::new(),
        }
    }

    /// Places a participant; `refusing[w]` says worker `w` sheds load. Returns its worker, and
    /// whether the room's workers changed.
    pub fn place(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
        refusing: &[bool],
    ) -> (WorkerId, bool) {
        if let Some((_, worker)) = self.placed.get(&participant) {
            return (*worker, false);
        }
        let open: Vec<WorkerId> = (0..self.load.len())
            .filter(|w| !refusing.get(*w).copied().unwrap_or(false))
            .collect();
        let candidates = if open.is_empty() {
            (0..self.load.len()).collect()
        } else {
            open
        };
        let least = candidates.iter().map(|w| self.load[*w]).min().unwrap_or(0);
        let members = self
            .rooms
            .entry(room)
            .or_insert_with(|| vec![0; self.load.len()]);
        let worker = candidates
            .iter()
            .copied()
            .filter(|w| members[*w] > 0 && self.load[*w] <= least + SPREAD_SLACK)
            .min_by_key(|w| self.load[*w])
            .or_else(|| candidates.iter().copied().min_by_key(|w| self.load[*w]))
            .unwrap_or(0);
        let spread_changed = members[worker] == 0;
        members[worker] += 1;
        self.load[worker] += 1;
        self.placed.insert(participant, (room, worker));
        (worker, spread_changed)
    }

    /// Forgets a participant: its room and worker, and whether the room's workers changed.
    pub fn remove(&mut self, participant: ParticipantId) -> Option<(RoomId, WorkerId, bool)> {
        let (room, worker) = self.placed.remove(&participant)?;
        self.load[worker] -= 1;
        let members = self.rooms.get_mut(&room)?;
        members[worker] -= 1;
        let spread_changed = members[worker] == 0;
        if members.iter().all(|m| *m == 0) {
            self.rooms.remove(&room);
        }
        Some((room, worker, spread_changed))
    }

    pub fn worker_of(&self, participant: ParticipantId) -> Option<WorkerId> {
        self.placed.get(&participant).map(|(_, w)| *w)
    }

    /// The workers with members of `room`, lowest first.
    pub fn spread(&self, room: RoomId) -> Vec<WorkerId> {
        self.rooms.get(&room).map_or_else(Vec::new, |members| {
            (0..members.len()).filter(|w| members[*w] > 0).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: RoomId = RoomId(7);

    fn place_n(p: &mut Placement, room: RoomId, from: u64, n: u64) -> Vec<WorkerId> {
        (from..from + n)
            .map(|i| p.place(room, ParticipantId(i), &[false, false]).0)
            .collect()
    }

    #[test]
    fn a_small_room_stays_on_one_worker_and_a_large_one_splits_evenly() {
        let mut p = Placement::new(2);
        assert_eq!(place_n(&mut p, ROOM, 0, 3), vec![0; 3]);
        assert_eq!(p.spread(ROOM), vec![0]);
        assert_eq!(place_n(&mut p, ROOM, 3, 3), vec![1; 3]);
        place_n(&mut p, ROOM, 6, 494);
        assert_eq!(p.spread(ROOM), vec![0, 1]);
        let on_first = (0..500)
            .filter(|i| p.worker_of(ParticipantId(*i)) == Some(0))
            .count();
        assert!(
            (246..=254).contains(&on_first),
            "{on_first} of 500 on worker 0"
        );
    }

    #[test]
    fn rooms_go_to_the_least_loaded_worker() {
        let mut p = Placement::new(2);
        place_n(&mut p, RoomId(1), 0, 3);
        assert_eq!(place_n(&mut p, RoomId(2), 10, 3), vec![1; 3]);
        assert_eq!(p.spread(RoomId(1)), vec![0]);
    }

    #[test]
    fn a_shedding_worker_takes_newcomers_only_when_all_do() {
        let mut p = Placement::new(2);
        assert_eq!(p.place(ROOM, ParticipantId(1), &[false, false]), (0, true));
        assert_eq!(p.place(ROOM, ParticipantId(2), &[true, false]), (1, true));
        assert_eq!(p.place(ROOM, ParticipantId(3), &[true, true]).0, 0);
    }

    #[test]
    fn the_spread_changes_when_a_worker_gets_its_first_or_loses_its_last_member() {
        let mut p = Placement::new(2);
        p.place(ROOM, ParticipantId(1), &[false, false]);
        assert_eq!(p.place(ROOM, ParticipantId(2), &[true, false]), (1, true));
        assert_eq!(p.place(ROOM, ParticipantId(3), &[true, false]), (1, false));
        assert_eq!(p.remove(ParticipantId(2)), Some((ROOM, 1, false)));
        assert_eq!(p.remove(ParticipantId(3)), Some((ROOM, 1, true)));
        assert_eq!(p.spread(ROOM), vec![0]);
        assert_eq!(p.remove(ParticipantId(1)), Some((ROOM, 0, true)));
        assert!(p.spread(ROOM).is_empty());
        assert_eq!(p.remove(ParticipantId(1)), None);
    }
}
