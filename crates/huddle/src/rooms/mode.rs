//! How a room carries media, and when an `auto` room moves between the mesh and the SFU. Pure:
//! the member count and the time go in, the room's next mode comes out.

use std::time::{Duration, Instant};

use crate::protocol::MediaMode;

/// The operator's choice for rooms (`--media-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaPolicy {
    /// Always peer to peer.
    Mesh,
    /// Always through the SFU.
    Sfu,
    /// Peer to peer while small, through the SFU once large.
    Auto(AutoSwitch),
}

/// When an auto room switches. Up as soon as it holds `threshold` participants: a mesh grows
/// worse with every newcomer. Down only after it has held at most [`AutoSwitch::calm_size`] for
/// `hold`: each switch renegotiates every browser, so people coming and going around the
/// threshold must not make the room go back and forth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSwitch {
    /// Participants from which the room uses the SFU (at least 2).
    pub threshold: usize,
    pub hold: Duration,
}

/// A room's current mode. In the SFU, `calm_since` is when the room last fell to
/// [`AutoSwitch::calm_size`] or fewer, if it has stayed there since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomMode {
    Mesh,
    Sfu { calm_since: Option<Instant> },
}

impl RoomMode {
    /// What the room's members are told (`joined.settings.media_mode`, `media_mode`).
    pub fn media_mode(self) -> MediaMode {
        match self {
            Self::Mesh => MediaMode::Mesh,
            Self::Sfu { .. } => MediaMode::Sfu,
        }
    }
}

impl AutoSwitch {
    /// Most participants an SFU room may hold to go back to the mesh: two (one pair, the case the
    /// mesh is best at), fewer only when the threshold leaves no gap, more for large thresholds.
    pub fn calm_size(&self) -> usize {
        self.threshold
            .saturating_sub(2)
            .max(2)
            .min(self.threshold.saturating_sub(1))
    }

    fn next(&self, mode: RoomMode, members: usize, now: Instant) -> RoomMode {
        match mode {
            RoomMode::Mesh if members >= self.threshold => RoomMode::Sfu { calm_since: None },
            RoomMode::Mesh => RoomMode::Mesh,
            RoomMode::Sfu { .. } if members > self.calm_size() => {
                RoomMode::Sfu { calm_since: None }
            }
            RoomMode::Sfu { calm_since } => {
                let since = calm_since.unwrap_or(now);
                if now.saturating_duration_since(since) >= self.hold {
                    RoomMode::Mesh
                } else {
                    RoomMode::Sfu {
                        calm_since: Some(since),
                    }
                }
            }
        }
    }
}

impl MediaPolicy {
    /// The mode of a new, empty room.
    pub fn initial(&self) -> RoomMode {
        match self {
            Self::Sfu => RoomMode::Sfu { calm_since: None },
            Self::Mesh | Self::Auto(_) => RoomMode::Mesh,
        }
    }

    /// The mode of a room that carried media in `mode` on another node: an auto room goes on as
    /// it was (its members arrive one by one, and must not be switched while they do).
    pub fn resumed(&self, mode: MediaMode) -> RoomMode {
        match (self, mode) {
            (Self::Auto(_), MediaMode::Sfu) => RoomMode::Sfu { calm_since: None },
            (Self::Auto(_), MediaMode::Mesh) => RoomMode::Mesh,
            (Self::Mesh | Self::Sfu, _) => self.initial(),
        }
    }

    /// The mode of a room in `mode` that holds `members` at `now`.
    pub fn next(&self, mode: RoomMode, members: usize, now: Instant) -> RoomMode {
        match self {
            Self::Mesh | Self::Sfu => mode,
            Self::Auto(switch) => switch.next(mode, members, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Duration = Duration::from_secs(30);

    fn auto(threshold: usize) -> MediaPolicy {
        MediaPolicy::Auto(AutoSwitch {
            threshold,
            hold: HOLD,
        })
    }

    /// A room under `policy` followed through member counts at given seconds, with a fake clock.
    struct Room {
        policy: MediaPolicy,
        mode: RoomMode,
        start: Instant,
    }

    impl Room {
        fn new(policy: MediaPolicy) -> Self {
            Self {
                policy,
                mode: policy.initial(),
                start: Instant::now(),
            }
        }

        fn at(&mut self, second: u64, members: usize) -> MediaMode {
            let now = self.start + Duration::from_secs(second);
            self.mode = self.policy.next(self.mode, members, now);
            self.mode.media_mode()
        }
    }

    #[test]
    fn fixed_policies_never_switch() {
        let mut mesh = Room::new(MediaPolicy::Mesh);
        let mut sfu = Room::new(MediaPolicy::Sfu);
        for (second, members) in [(0, 1), (1, 10), (2, 1), (100, 1)] {
            assert_eq!(mesh.at(second, members), MediaMode::Mesh);
            assert_eq!(sfu.at(second, members), MediaMode::Sfu);
        }
    }

    #[test]
    fn auto_moves_to_the_sfu_at_the_threshold() {
        let mut room = Room::new(auto(3));
        assert_eq!(room.at(0, 1), MediaMode::Mesh);
        assert_eq!(room.at(1, 2), MediaMode::Mesh);
        assert_eq!(room.at(2, 3), MediaMode::Sfu);

        let mut room = Room::new(auto(5));
        assert_eq!(room.at(0, 4), MediaMode::Mesh);
        assert_eq!(room.at(1, 5), MediaMode::Sfu);
    }

    #[test]
    fn comings_and_goings_around_the_threshold_do_not_flap() {
        let mut room = Room::new(auto(3));
        room.at(0, 3);
        // 3, 2, 3, 2 ... every few seconds for two minutes: always in the SFU.
        for second in 1..120 {
            let members = if second % 2 == 0 { 3 } else { 2 };
            assert_eq!(room.at(second, members), MediaMode::Sfu, "second {second}");
        }
    }

    #[test]
    fn back_to_the_mesh_after_the_hold_at_calm_size() {
        let mut room = Room::new(auto(3));
        room.at(0, 3);
        assert_eq!(room.at(10, 2), MediaMode::Sfu);
        assert_eq!(room.at(39, 2), MediaMode::Sfu);
        assert_eq!(room.at(40, 2), MediaMode::Mesh);
    }

    #[test]
    fn the_hold_starts_again_when_the_room_grows() {
        let mut room = Room::new(auto(3));
        room.at(0, 3);
        room.at(10, 2);
        room.at(35, 3);
        assert_eq!(room.at(36, 2), MediaMode::Sfu);
        assert_eq!(room.at(65, 2), MediaMode::Sfu);
        assert_eq!(room.at(66, 1), MediaMode::Mesh);
    }

    #[test]
    fn larger_thresholds_go_back_below_a_gap() {
        let mut room = Room::new(auto(5));
        room.at(0, 5);
        // 4 is above calm size 3: never back to the mesh however long it stays.
        assert_eq!(room.at(1, 4), MediaMode::Sfu);
        assert_eq!(room.at(1000, 4), MediaMode::Sfu);
        room.at(1001, 3);
        assert_eq!(room.at(1031, 3), MediaMode::Mesh);
    }

    #[test]
    fn calm_size_leaves_a_gap_below_the_threshold() {
        let calm = |threshold| {
            AutoSwitch {
                threshold,
                hold: HOLD,
            }
            .calm_size()
        };
        assert_eq!(calm(2), 1);
        assert_eq!(calm(3), 2);
        assert_eq!(calm(4), 2);
        assert_eq!(calm(5), 3);
        assert_eq!(calm(10), 8);
    }
}
