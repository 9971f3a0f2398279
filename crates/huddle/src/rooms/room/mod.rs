//! One room's members and the messages membership changes send to them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError};

use super::notice::{Authors, Notice, Reader};
use super::{Arrival, Audience, RelayError, RoomMode, RoomPolicy};
use crate::identity::AuthorKey;
use crate::protocol::{
    LeaveReason, MediaMode, MediaState, Participant, ParticipantId, Role, RoomSettings,
    ServerMessage, Signal,
};

/// Where a participant's session receives what the room sends it.
pub type Outbox = mpsc::Sender<ServerMessage>;

/// Messages a member may have waiting when another member's signal is relayed to it: relays
/// never fill an outbox (whose overflow drops its owner), so nobody can be pushed out of a room
/// by somebody else's signals.
const RELAY_BACKLOG: usize = 32;

/// How long the role of a host who lost their connection waits for them to come back before it
/// passes on: a reconnecting browser is back within seconds, and whoever made it drop (by
/// flooding it, say) does not inherit the room.
pub const HOST_RETURN_GRACE: Duration = Duration::from_secs(30);

/// From this many members on, a newcomer is announced to the others at the room's next settle
/// (within `SETTLE_INTERVAL`), together with whoever else arrived meanwhile, rather than at once:
/// each arrival is a message to every member, and in a wave of arrivals (a webinar starting)
/// those messages were the server's largest cost beside the media (docs/benchmarks.md). Below
/// it, where a newcomer is someone to connect to, nobody waits.
pub const ARRIVALS_BATCHED_FROM: usize = 50;

struct Member {
    participant: Participant,
    author: AuthorKey,
    outbox: Outbox,
    /// Order of arrival: the role of a host who left passes to the longest present.
    arrival: u64,
}

/// A host who lost their connection (not one who left), for whom the role is kept a while.
struct AbsentHost {
    author: AuthorKey,
    /// When they were found gone: a removal knows its time; a laggard dropped in the middle
    /// of a delivery is timed by the next settle tick.
    since: Option<Instant>,
}

/// The members of one room and how it carries media. Every change announces itself to the other
/// members; a member whose outbox is full is too slow to follow the room and is dropped rather
/// than letting it grow.
pub struct Room {
    members: BTreeMap<ParticipantId, Member>,
    policy: RoomPolicy,
    mode: RoomMode,
    /// Raised hands, first raised first.
    hands: Vec<ParticipantId>,
    arrivals: u64,
    absent_host: Option<AbsentHost>,
    /// The room moved here from another node (a drain): whoever arrives first did not open it.
    moved_in: bool,
    /// Members the others have not been told of yet (see [`ARRIVALS_BATCHED_FROM`]), first
    /// arrived first.
    unannounced: Vec<ParticipantId>,
}

/// What a host changes about another member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Role(Role),
    /// Microphone off.
    Mute,
    /// Camera and screen share off.
    StopVideo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the room is full ({capacity} participants)")]
pub struct RoomFull {
    pub capacity: usize,
}

impl Room {
    pub fn new(policy: RoomPolicy) -> Self {
        Self {
            members: BTreeMap::new(),
            policy,
            mode: policy.media.initial(),
            hands: Vec::new(),
            arrivals: 0,
            absent_host: None,
            moved_in: false,
            unannounced: Vec::new(),
        }
    }

    /// A room moving here from its former home, where it carried media in `mode`: its members
    /// arrive one by one, each keeping the role it had, and the media mode stays as it was.
    pub fn moved_in(policy: RoomPolicy, mode: MediaMode) -> Self {
        Self {
            mode: policy.media.resumed(mode),
            moved_in: true,
            ..Self::new(policy)
        }
    }

    /// Who `author` would be coming in: the lobby holds newcomers only.
    pub fn arrival(&self, author: &AuthorKey) -> Arrival {
        if self.members.is_empty() {
            Arrival::FirstIn
        } else if self.is_absent_host(author) {
            Arrival::ReturningHost
        } else {
            Arrival::Newcomer
        }
    }

    fn is_absent_host(&self, author: &AuthorKey) -> bool {
        self.absent_host
            .as_ref()
            .is_some_and(|absent| absent.author == *author)
    }

    /// What a newcomer is told about the room.
    pub fn settings(&self) -> RoomSettings {
        RoomSettings {
            media_mode: self.mode.media_mode(),
            capacity: self.policy.capacity(),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, id: &ParticipantId) -> bool {
        self.members.contains_key(id)
    }

    /// Adds a participant and returns the others, as the newcomer's first view of the room, and
    /// the role they got: in an open room, the first one in is host (not in a room moving in:
    /// its members keep their roles), and so is a host coming back after losing their connection; a newcomer to a hostless room is not (they could have
    /// caused the host's departure, and viewers must not be handed to a stranger). When the newcomer moves
    /// the room to the SFU, the others hear it before they hear of the newcomer, so that they meet
    /// it on the SFU rather than set up a peer connection to it.
    pub fn admit(
        &mut self,
        mut participant: Participant,
        author: AuthorKey,
        outbox: Outbox,
        now: Instant,
    ) -> Result<(Vec<Participant>, Role), RoomFull> {
        let capacity = self.policy.capacity();
        if self.members.len() >= capacity {
            return Err(RoomFull { capacity });
        }
        let returning = self.is_absent_host(&author);
        if self.policy.auto_host
            && participant.role.may_publish()
            && ((self.members.is_empty() && !self.moved_in) || returning)
        {
            participant.role = Role::Host;
        }
        if returning {
            self.absent_host = None;
        }
        let role = participant.role;
        self.settle_at(self.members.len() + 1, now);
        let others = self.participants();
        let id = participant.id.clone();
        if self.members.len() >= ARRIVALS_BATCHED_FROM {
            self.unannounced.push(id.clone());
        } else {
            self.broadcast(ServerMessage::ParticipantJoined {
                participant: participant.clone(),
            });
        }
        self.arrivals += 1;
        self.members.insert(
            id,
            Member {
                participant,
                author,
                outbox,
                arrival: self.arrivals,
            },
        );
        Ok((others, role))
    }

    /// Applies a host's change to a member and announces it; `None` when they are not here.
    pub fn change(&mut self, id: &ParticipantId, change: MemberChange) -> Option<Participant> {
        let member = self.members.get_mut(id)?;
        let participant = &mut member.participant;
        match change {
            MemberChange::Role(role) => participant.role = role,
            MemberChange::Mute => participant.media.audio = false,
            MemberChange::StopVideo => {
                participant.media.video = false;
                participant.media.screen = false;
            }
        }
        let participant = participant.clone();
        self.broadcast(ServerMessage::ParticipantUpdated {
            participant: participant.clone(),
        });
        Some(participant)
    }

    fn has_host(&self) -> bool {
        self.members
            .values()
            .any(|member| member.participant.role == Role::Host)
    }

    pub fn update(&mut self, id: &ParticipantId, media: MediaState, name: Option<String>) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        member.participant.media = media;
        if let Some(name) = name {
            member.participant.name = name;
        }
        let participant = member.participant.clone();
        self.broadcast(ServerMessage::ParticipantUpdated { participant });
    }

    /// Passes a signal to one member, stamped with its sender. A recipient with a backlog is left
    /// alone: the signal is refused to its sender rather than left to overflow the recipient.
    pub fn relay(
        &mut self,
        from: &ParticipantId,
        to: &ParticipantId,
        signal: Signal,
    ) -> Result<(), RelayError> {
        self.announce_arrivals();
        let recipient = self
            .members
            .get(to)
            .filter(|_| self.members.contains_key(from))
            .ok_or_else(|| RelayError::UnknownParticipant(to.clone()))?;
        let outbox = &recipient.outbox;
        let backlog = outbox.max_capacity() - outbox.capacity();
        if backlog >= RELAY_BACKLOG {
            return Err(RelayError::RecipientBusy(to.clone()));
        }
        let message = ServerMessage::Signal {
            from: from.clone(),
            signal,
        };
        if !self.deliver(to, message) {
            self.drop_member(to, LeaveReason::Disconnected);
        }
        Ok(())
    }

    pub fn remove(&mut self, id: &ParticipantId, reason: LeaveReason, now: Instant) {
        self.drop_member(id, reason);
        self.settle(now);
    }

    /// Removes a member without settling the mode: laggards are dropped in the middle of a
    /// delivery, and the registry's next tick settles the room.
    fn drop_member(&mut self, id: &ParticipantId, reason: LeaveReason) {
        self.drop_members(std::slice::from_ref(id), reason);
    }

    /// Removes all of `ids` before telling the others: when many fall behind at once (a
    /// network outage, a server that stalled), announcing one departure must not find the
    /// other laggards still here and drop them again, once per departure.
    fn drop_members(&mut self, ids: &[ParticipantId], reason: LeaveReason) {
        // Those who met a leaver in their `joined` hear of the departure: so must the others,
        // of the arrival first.
        self.announce_arrivals();
        let mut gone = Vec::new();
        for id in ids {
            let Some(member) = self.members.remove(id) else {
                continue;
            };
            let lost_host = member.participant.role == Role::Host
                && reason == LeaveReason::Disconnected
                && self.policy.auto_host;
            if lost_host {
                self.absent_host = Some(AbsentHost {
                    author: member.author,
                    since: None,
                });
            }
            gone.push(id.clone());
        }
        if gone.is_empty() {
            return;
        }
        for id in &gone {
            self.broadcast(ServerMessage::ParticipantLeft {
                id: id.clone(),
                reason,
            });
        }
        let hands = self.hands.len();
        self.hands.retain(|hand| !gone.contains(hand));
        if self.hands.len() != hands {
            self.broadcast(self.hands_message());
        }
        self.replace_lost_host();
    }

    /// An open room whose last host left hands the role to the longest present member who may
    /// publish, so that a locked room or a lobby always has somebody to open it; a host who lost
    /// their connection is waited for first ([`HOST_RETURN_GRACE`]).
    fn replace_lost_host(&mut self) {
        if !self.policy.auto_host || self.has_host() || self.absent_host.is_some() {
            return;
        }
        let heir = self
            .members
            .values()
            .filter(|member| member.participant.role.may_publish())
            .min_by_key(|member| member.arrival)
            .map(|member| member.participant.id.clone());
        if let Some(heir) = heir {
            self.change(&heir, MemberChange::Role(Role::Host));
        }
    }

    /// Raises or lowers a member's hand; everybody sees the queue.
    pub fn raise_hand(&mut self, id: &ParticipantId, raised: bool) {
        if !self.members.contains_key(id) {
            return;
        }
        let queued = self.hands.contains(id);
        match (raised, queued) {
            (true, false) => self.hands.push(id.clone()),
            (false, true) => self.hands.retain(|hand| hand != id),
            _ => {}
        }
        self.broadcast(self.hands_message());
    }

    pub fn hands(&self) -> Vec<ParticipantId> {
        self.hands.clone()
    }

    fn hands_message(&self) -> ServerMessage {
        ServerMessage::Hands {
            queue: self.hands(),
        }
    }

    /// Which member is which author (the first to join, for one person there twice).
    pub fn authors(&self) -> Authors {
        let mut authors = Authors::new();
        for (id, member) in &self.members {
            authors
                .entry(member.author.clone())
                .or_insert_with(|| id.clone());
        }
        authors
    }

    /// Delivers `notice` to its audience, rendered for each. False when the audience is one
    /// member who is not here.
    pub fn announce(&mut self, notice: &Notice, audience: &Audience) -> bool {
        self.announce_arrivals();
        if let Audience::Member(id) = audience {
            if !self.members.contains_key(id) {
                return false;
            }
        }
        let authors = self.authors();
        let laggards: Vec<ParticipantId> = self
            .members
            .iter()
            .filter(|(id, member)| audience.includes(id, member.participant.role))
            .filter(|(id, member)| {
                let reader = Reader {
                    key: &member.author,
                    authors: &authors,
                };
                !self.deliver(id, notice.render(reader))
            })
            .map(|(id, _)| id.clone())
            .collect();
        self.drop_members(&laggards, LeaveReason::Disconnected);
        true
    }

    /// Lets time pass: the arrivals of a big room since the last settle are announced, an auto
    /// room that stayed small long enough goes back to the mesh, and the role of a host who did
    /// not come back in time passes on.
    pub fn settle(&mut self, now: Instant) {
        self.announce_arrivals();
        self.settle_at(self.members.len(), now);
        if let Some(absent) = &mut self.absent_host {
            let since = *absent.since.get_or_insert(now);
            if now.saturating_duration_since(since) >= HOST_RETURN_GRACE {
                self.absent_host = None;
                self.replace_lost_host();
            }
        }
    }

    /// Moves the room to the mode the policy wants for `members`, telling everybody if it changes.
    fn settle_at(&mut self, members: usize, now: Instant) {
        let before = self.mode.media_mode();
        self.mode = self.policy.media.next(self.mode, members, now);
        let mode = self.mode.media_mode();
        if mode != before {
            tracing::info!(members, mode = mode.as_str(), "room switches media mode");
            self.broadcast(ServerMessage::MediaMode { mode });
        }
    }

    pub fn participants(&self) -> Vec<Participant> {
        self.members
            .values()
            .map(|member| member.participant.clone())
            .collect()
    }

    fn broadcast(&mut self, message: ServerMessage) {
        self.announce_arrivals();
        let laggards: Vec<ParticipantId> = self
            .members
            .keys()
            .filter(|id| !self.deliver(id, message.clone()))
            .cloned()
            .collect();
        self.drop_members(&laggards, LeaveReason::Disconnected);
    }

    /// Tells each member of the newcomers not announced yet who arrived after them (those who
    /// came later met them in their `joined`). Anything else the room sends goes after this, so
    /// nobody hears of a member's change, signal or departure before their arrival.
    fn announce_arrivals(&mut self) {
        if self.unannounced.is_empty() {
            return;
        }
        let newcomers: Vec<(u64, Participant)> = std::mem::take(&mut self.unannounced)
            .iter()
            .filter_map(|id| self.members.get(id))
            .map(|member| (member.arrival, member.participant.clone()))
            .collect();
        let laggards: Vec<ParticipantId> = self
            .members
            .iter()
            .filter(|(id, member)| {
                newcomers
                    .iter()
                    .filter(|(arrival, _)| member.arrival < *arrival)
                    .any(|(_, participant)| {
                        let participant = participant.clone();
                        !self.deliver(id, ServerMessage::ParticipantJoined { participant })
                    })
            })
            .map(|(id, _)| id.clone())
            .collect();
        self.drop_members(&laggards, LeaveReason::Disconnected);
    }

    /// False when the member's session is gone or cannot keep up.
    fn deliver(&self, to: &ParticipantId, message: ServerMessage) -> bool {
        let Some(member) = self.members.get(to) else {
            return true;
        };
        match member.outbox.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(participant = %to, "outbox full, dropping slow participant");
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod host_tests;
