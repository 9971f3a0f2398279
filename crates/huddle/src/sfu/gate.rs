//! What the SFU forwards of one participant, as signaling decides it: everything at first, closed
//! by a host's mute or stop-video until the participant turns that on again, and nothing at all of
//! a viewer whatever the gate says.

use huddle_media::Forwarding;

use crate::protocol::{MediaState, ModeratedAction, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    audio: bool,
    /// Camera and screen share.
    video: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            audio: true,
            video: true,
        }
    }
}

impl Gate {
    /// A host turned something off: the SFU stops forwarding it.
    pub fn close(&mut self, action: ModeratedAction) {
        match action {
            ModeratedAction::Mute => self.audio = false,
            ModeratedAction::StopVideo => self.video = false,
        }
    }

    /// The participant turned on `media`: what a host closed of it opens again (a host's mute is
    /// a request the participant may overrule, as in a room). True when that changed the gate.
    pub fn reopen(&mut self, media: MediaState) -> bool {
        let before = *self;
        self.audio |= media.audio;
        self.video |= media.video || media.screen;
        *self != before
    }

    /// What the SFU forwards of a participant of `role` behind this gate.
    pub(super) fn forwarding(self, role: Role) -> Forwarding {
        if !role.may_publish() {
            return Forwarding::NOTHING;
        }
        Forwarding {
            audio: self.audio,
            video: self.video,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_opens_again_when_its_participant_turns_the_media_on() {
        let mut gate = Gate::default();
        gate.close(ModeratedAction::Mute);
        gate.close(ModeratedAction::StopVideo);
        assert_eq!(gate.forwarding(Role::Participant), Forwarding::NOTHING);
        let screen = MediaState {
            screen: true,
            ..MediaState::default()
        };
        assert!(gate.reopen(screen));
        assert!(!gate.reopen(screen), "nothing left to open");
        let opened = gate.forwarding(Role::Host);
        assert_eq!((opened.audio, opened.video), (false, true));
        assert_eq!(gate.forwarding(Role::Viewer), Forwarding::NOTHING);
    }
}
