//! What the SFU forwards of a participant: nothing of a viewer, and not what a host turned off
//! until the participant turns it on again. The participant's own session is the one owner of
//! this gate, so it stays right across the SFU re-joins an offer can cause.

use huddle_media::Forwarding;

use super::session::Session;
use crate::protocol::MediaState;
use crate::sfu::SfuFailure;

impl Session<'_> {
    /// A participant who turns on what a host turned off gets it forwarded again: a host's mute
    /// is a request the participant may overrule by unmuting, as in a room.
    pub(super) async fn reopen_forwarding(&mut self, media: MediaState) -> Result<(), SfuFailure> {
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        let before = membership.forwarding;
        membership.forwarding.audio |= media.audio;
        membership.forwarding.video |= media.video || media.screen;
        if membership.forwarding == before {
            return Ok(());
        }
        self.apply_forwarding().await
    }

    /// Tells the SFU what it forwards of this participant: nothing of a viewer.
    pub(super) async fn apply_forwarding(&self) -> Result<(), SfuFailure> {
        let Some(membership) = &self.membership else {
            return Ok(());
        };
        if !membership.transport.uses_sfu() {
            return Ok(());
        }
        let forwarding = if membership.role.may_publish() {
            membership.forwarding
        } else {
            Forwarding::NOTHING
        };
        let sfu = self.sfu().ok_or(SfuFailure::Unavailable)?;
        sfu.set_forwarding(&membership.room, &membership.id, forwarding)
            .await
    }
}
