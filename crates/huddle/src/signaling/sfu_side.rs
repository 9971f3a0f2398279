//! A session's side of the SFU: its place there (taken on a join or a switch, taken again on
//! `sfu_connect`), the messages only SFU participants send (`sfu_signal`, `view`), and the gate of
//! what the SFU forwards of it. The SFU itself is behind [`SfuBridge`]; nothing here knows the
//! media crate.

use tokio::sync::mpsc;

use super::session::{Membership, Session, Step};
use super::transport::SfuStep;
use crate::protocol::{
    ErrorCode, MediaMode, MediaState, ParticipantId, ServerMessage, Signal, Tile, MAX_VIEW_TILES,
};
use crate::rooms::RoomName;
use crate::sfu::{SfuBridge, SfuFailure};

impl Session<'_> {
    pub(super) fn sfu(&self) -> Option<&SfuBridge> {
        self.signaling.sfu.as_ref()
    }

    pub(super) async fn join_sfu(
        &self,
        room: &RoomName,
        id: &ParticipantId,
        outbox: &mpsc::Sender<ServerMessage>,
    ) -> Result<(), SfuFailure> {
        let sfu = self.sfu().ok_or(SfuFailure::Unavailable)?;
        sfu.admit(room, id, outbox.clone()).await
    }

    /// Follows the room to `mode`: the SFU gives the participant a place (a fresh one after a
    /// round trip through the mesh) before its browser offers.
    pub(super) async fn switch(&mut self, mode: MediaMode) -> Result<(), SfuFailure> {
        let Some(membership) = &self.membership else {
            return Ok(());
        };
        let (transport, step) = membership.transport.switch(mode);
        let (room, id) = (&membership.room, &membership.id);
        if step != SfuStep::Nothing {
            let sfu = self.sfu().ok_or(SfuFailure::Unavailable)?;
            // No outbox left: the room dropped this session, whose loop ends with the inbox.
            let Some(outbox) = membership.outbox.upgrade() else {
                return Ok(());
            };
            match step {
                SfuStep::Rejoin => sfu.rejoin(room, id, outbox).await?,
                _ => sfu.join(room, id, outbox).await?,
            }
        }
        tracing::info!(room = %room, participant = %id, ?transport, "media mode switch");
        if let Some(membership) = &mut self.membership {
            membership.transport = transport;
        }
        Ok(())
    }

    pub(super) async fn sfu_signal(&mut self, signal: Signal) -> Step {
        let (membership, sfu) = match self.in_sfu("sfu_signal") {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let answer = match sfu.signal(&membership.room, &membership.id, signal).await {
            Ok(answer) => answer,
            Err(failure) => return self.sfu_failure(failure),
        };
        // A fresh place in the SFU (a media mode switch, `sfu_connect`) forwards everything until
        // told otherwise; its first offer is when to tell it.
        if let Err(failure) = self.apply_forwarding().await {
            return self.sfu_failure(failure);
        }
        match answer {
            Some(signal) => Step::Reply(ServerMessage::SfuSignal { signal }),
            None => Step::Quiet,
        }
    }

    /// The client opens a new connection to the SFU, its old one's place being gone (`sfu_ended`):
    /// the SFU forgets whatever is left of the old one, and a fresh place takes the offer that
    /// follows. Offers of the old connection still on their way arrive before this and are refused.
    pub(super) async fn sfu_connect(&mut self) -> Step {
        let (membership, sfu) = match self.in_sfu("sfu_connect") {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        // No outbox left: the room dropped this session, whose loop ends with the inbox.
        let Some(outbox) = membership.outbox.upgrade() else {
            return Step::Quiet;
        };
        match sfu.rejoin(&membership.room, &membership.id, outbox).await {
            Ok(()) => Step::Quiet,
            Err(failure) => self.sfu_failure(failure),
        }
    }

    pub(super) async fn view(&mut self, tiles: Vec<Tile>) -> Step {
        if tiles.len() > MAX_VIEW_TILES {
            let message = format!("a view names at most {MAX_VIEW_TILES} tiles");
            return self.error(ErrorCode::MalformedMessage, message);
        }
        let (membership, sfu) = match self.in_sfu("view") {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        match sfu.view(&membership.room, &membership.id, tiles).await {
            Ok(()) => Step::Quiet,
            Err(failure) => self.sfu_failure(failure),
        }
    }

    /// A participant who turns on what a host turned off gets it forwarded again: a host's mute
    /// is a request the participant may overrule by unmuting, as in a room.
    pub(super) async fn reopen_forwarding(&mut self, media: MediaState) -> Result<(), SfuFailure> {
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        if !membership.gate.reopen(media) {
            return Ok(());
        }
        self.apply_forwarding().await
    }

    /// Tells the SFU what it forwards of this participant (nothing of a viewer).
    pub(super) async fn apply_forwarding(&self) -> Result<(), SfuFailure> {
        let Some(membership) = &self.membership else {
            return Ok(());
        };
        if !membership.transport.uses_sfu() {
            return Ok(());
        }
        let sfu = self.sfu().ok_or(SfuFailure::Unavailable)?;
        let (room, id) = (&membership.room, &membership.id);
        sfu.set_gate(room, id, membership.role, membership.gate)
            .await
    }

    /// The membership and the SFU for a message only participants in an SFU room send, or the
    /// error reply to a session that is not one.
    // The error is a reply built at most once per message: its size costs nothing here.
    #[allow(clippy::result_large_err)]
    fn in_sfu(&self, kind: &str) -> Result<(&Membership, &SfuBridge), Step> {
        let Some(membership) = &self.membership else {
            return Err(self.not_joined());
        };
        if !membership.transport.uses_sfu() {
            return Err(self.wrong_media_mode(kind, MediaMode::Mesh));
        }
        let Some(sfu) = self.sfu() else {
            return Err(self.sfu_failure(SfuFailure::Unavailable));
        };
        Ok((membership, sfu))
    }
}
