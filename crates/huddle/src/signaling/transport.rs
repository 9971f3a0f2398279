//! How one participant's media travels, as far as signaling knows: which messages it may send
//! (`signal` for peer connections, `sfu_signal` and `view` for the SFU) and whether the SFU holds
//! a place for it. Pure: the session applies the [`SfuStep`]s.

use crate::protocol::MediaMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Peer connections only.
    Mesh,
    /// The SFU only.
    Sfu,
    /// The room moved to `to` while the participant used the other way. The browser keeps the
    /// old connections until the new one shows every remote video, and the server cannot see when
    /// it closes them, so both kinds of message stay accepted until the participant leaves. The
    /// SFU holds the participant's place in both directions.
    Switching { to: MediaMode },
}

/// What the SFU must do when a participant's transport changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfuStep {
    Nothing,
    /// Give the participant a place in the SFU; its browser is about to offer.
    Join,
    /// Drop the participant's old place and give it a new one: after a switch back to the mesh the
    /// browser closed (or is about to close) its SFU connection and offers from a fresh one.
    Rejoin,
}

impl Transport {
    /// The transport of a participant who joins a room in `mode`.
    pub fn joined(mode: MediaMode) -> Self {
        match mode {
            MediaMode::Mesh => Self::Mesh,
            MediaMode::Sfu => Self::Sfu,
        }
    }

    /// May the participant send `signal`?
    pub fn uses_mesh(self) -> bool {
        self != Self::Sfu
    }

    /// May the participant send `sfu_signal` and `view`? Then the SFU holds its place.
    pub fn uses_sfu(self) -> bool {
        self != Self::Mesh
    }

    /// The room now carries media in `mode`.
    pub fn switch(self, mode: MediaMode) -> (Self, SfuStep) {
        use MediaMode::{Mesh, Sfu};
        match (self, mode) {
            (Self::Mesh, Sfu) => (Self::Switching { to: Sfu }, SfuStep::Join),
            (Self::Switching { to: Mesh }, Sfu) => (Self::Switching { to: Sfu }, SfuStep::Rejoin),
            (Self::Sfu | Self::Switching { to: Sfu }, Mesh) => {
                (Self::Switching { to: Mesh }, SfuStep::Nothing)
            }
            (Self::Mesh, Mesh) | (Self::Sfu, Sfu) | (Self::Switching { .. }, _) => {
                (self, SfuStep::Nothing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaMode::{Mesh, Sfu};

    #[test]
    fn a_mesh_participant_joins_the_sfu_and_keeps_signaling_peers() {
        let (switching, step) = Transport::joined(Mesh).switch(Sfu);
        assert_eq!(step, SfuStep::Join);
        assert!(switching.uses_mesh() && switching.uses_sfu());
    }

    #[test]
    fn a_participant_who_joined_into_the_sfu_ignores_the_switch_it_caused() {
        assert_eq!(
            Transport::joined(Sfu).switch(Sfu),
            (Transport::Sfu, SfuStep::Nothing)
        );
        assert!(!Transport::Sfu.uses_mesh());
        assert!(!Transport::Mesh.uses_sfu());
    }

    #[test]
    fn back_to_the_mesh_keeps_the_sfu_until_the_participant_leaves() {
        let (down, step) = Transport::Sfu.switch(Mesh);
        assert_eq!(step, SfuStep::Nothing);
        assert!(down.uses_mesh() && down.uses_sfu());
        assert_eq!(down.switch(Mesh), (down, SfuStep::Nothing));
    }

    #[test]
    fn up_again_after_down_starts_a_fresh_sfu_place() {
        let (down, _) = Transport::Sfu.switch(Mesh);
        assert_eq!(
            down.switch(Sfu),
            (Transport::Switching { to: Sfu }, SfuStep::Rejoin)
        );
        let (up, _) = Transport::Mesh.switch(Sfu);
        assert_eq!(up.switch(Sfu), (up, SfuStep::Nothing));
    }
}
