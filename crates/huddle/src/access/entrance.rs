//! Each room's entrance: who may come in (lock, password, bans), and the lobby where newcomers
//! wait for a host. Roles and membership live in the room registry; this holds only what decides
//! entry, so that the registry stays free of credentials.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::limits::{address_key, IpBuckets};
use super::password::{PasswordError, PasswordWork};
use super::store::{RoomSettingsStore, SettingsError, StoredRoomSettings};
use super::token::JoinClaims;
use crate::protocol::{AccessState, ErrorCode, Knock, ParticipantId, Role};
use crate::rooms::{Arrival, RoomName};

/// Who someone is for keeping them out after a kick: their token when they come with one, else
/// their address (which may keep out others behind the same NAT: see docs/security.md; IPv6 by
/// its /64, which one host can rotate through).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Token(String),
    Address(IpAddr),
}

/// Someone at the door.
pub struct Visitor<'a> {
    pub ip: IpAddr,
    pub token: Option<&'a JoinClaims>,
    pub password: Option<&'a str>,
}

impl Visitor<'_> {
    /// What a ban on them checks: their token when they bring one, else their address.
    fn identity(&self) -> Identity {
        match self.token {
            Some(claims) => Identity::Token(claims.jti.clone()),
            None => Identity::Address(address_key(self.ip)),
        }
    }

    /// What a kick bans: their token and their address too, so that a kicked token holder
    /// cannot walk back in without the token (others' own tokens still open the door).
    pub fn identities(&self) -> Vec<Identity> {
        let address = Identity::Address(address_key(self.ip));
        let token = self.token.map(|claims| Identity::Token(claims.jti.clone()));
        token.into_iter().chain([address]).collect()
    }

    fn role(&self) -> Option<Role> {
        self.token.map(|claims| claims.role)
    }
}

/// Whether the visitor goes in now or waits for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Enter,
    Wait,
}

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("you were removed from this meeting")]
    Banned,
    #[error("the room is locked")]
    Locked,
    #[error("this room needs a password")]
    PasswordRequired,
    #[error("wrong password")]
    WrongPassword,
    #[error("too many attempts, retry in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    #[error(transparent)]
    Storage(#[from] SettingsError),
}

impl Refusal {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Banned => ErrorCode::Banned,
            Self::Locked => ErrorCode::RoomLocked,
            Self::PasswordRequired => ErrorCode::PasswordRequired,
            Self::WrongPassword => ErrorCode::WrongPassword,
            Self::TooManyAttempts(_) => ErrorCode::TooManyAttempts,
            // The visitor can do nothing about it; they may retry later.
            Self::Storage(_) => ErrorCode::StorageFailed,
        }
    }
}

#[derive(Default)]
struct Entrance {
    settings: StoredRoomSettings,
    locked: bool,
    bans: HashSet<Identity>,
    /// Who is inside, by their identities, so that a kick can keep them out.
    inside: HashMap<ParticipantId, Vec<Identity>>,
    lobby: HashMap<ParticipantId, Waiter>,
}

struct Waiter {
    name: String,
    admit: oneshot::Sender<bool>,
}

impl Entrance {
    fn access(&self) -> AccessState {
        AccessState {
            locked: self.locked,
            lobby: self.settings.lobby,
            password: self.settings.password_hash.is_some(),
            viewers_chat: self.settings.viewers_chat,
        }
    }
}

pub struct Entrances {
    store: Arc<dyn RoomSettingsStore>,
    /// Password checks and changes per address (right or wrong: each costs a hash).
    password_attempts: IpBuckets,
    passwords: PasswordWork,
    rooms: Mutex<HashMap<RoomName, Entrance>>,
}

impl Entrances {
    pub fn new(store: Arc<dyn RoomSettingsStore>, password_attempts_per_minute: u32) -> Self {
        Self {
            store,
            password_attempts: IpBuckets::new(password_attempts_per_minute),
            passwords: PasswordWork::default(),
            rooms: Mutex::default(),
        }
    }

    /// Decides whether `visitor` comes in. A host token opens every door; any token spares the
    /// password and the lobby; the lobby holds newcomers to a room somebody is in (a hostless
    /// room keeps them waiting until a host comes), but not the first one in nor a host coming
    /// back after losing their connection.
    pub async fn check(
        &self,
        room: &RoomName,
        visitor: &Visitor<'_>,
        arrival: Arrival,
    ) -> Result<Entry, Refusal> {
        let identity = visitor.identity();
        // Read without caching: a refused visitor must not leave state behind (room names are
        // the attacker's to choose). Rooms are cached once someone is inside or waiting.
        let (banned, locked, settings) = match self.rooms().get(room) {
            Some(entrance) => (
                entrance.bans.contains(&identity),
                entrance.locked,
                Some(entrance.settings.clone()),
            ),
            None => (false, false, None),
        };
        let StoredRoomSettings {
            password_hash,
            lobby,
            ..
        } = match settings {
            Some(settings) => settings,
            None => self.store.load(room).await?.unwrap_or_default(),
        };
        if banned {
            return Err(Refusal::Banned);
        }
        if visitor.role() == Some(Role::Host) {
            return Ok(Entry::Enter);
        }
        if locked {
            return Err(Refusal::Locked);
        }
        if visitor.token.is_some() {
            return Ok(Entry::Enter);
        }
        if let Some(hash) = password_hash {
            self.check_password(visitor, hash).await?;
        }
        Ok(if lobby && arrival == Arrival::Newcomer {
            Entry::Wait
        } else {
            Entry::Enter
        })
    }

    async fn check_password(&self, visitor: &Visitor<'_>, hash: String) -> Result<(), Refusal> {
        let Some(password) = visitor.password.map(str::to_owned) else {
            return Err(Refusal::PasswordRequired);
        };
        self.password_attempts
            .take(visitor.ip, Instant::now())
            .map_err(Refusal::TooManyAttempts)?;
        let matches = self.passwords.matches(password, hash).await;
        matches.then_some(()).ok_or(Refusal::WrongPassword)
    }

    /// Notes who is inside, for kicks.
    pub async fn entered(&self, room: &RoomName, id: &ParticipantId, identities: Vec<Identity>) {
        let _ = self
            .with(room, |entrance| {
                entrance.inside.insert(id.clone(), identities)
            })
            .await;
    }

    /// Someone left; when the room is empty the meeting is over, and its lock and bans with it.
    pub fn left(&self, room: &RoomName, id: &ParticipantId, room_empty: bool) {
        let mut rooms = self.rooms();
        let Some(entrance) = rooms.get_mut(room) else {
            return;
        };
        entrance.inside.remove(id);
        if room_empty && entrance.lobby.is_empty() {
            rooms.remove(room);
        }
    }

    /// Keeps out whoever `id` is until the meeting ends. False when they are not inside.
    pub fn ban(&self, room: &RoomName, id: &ParticipantId) -> bool {
        let mut rooms = self.rooms();
        let Some(entrance) = rooms.get_mut(room) else {
            return false;
        };
        match entrance.inside.get(id).cloned() {
            Some(identities) => {
                entrance.bans.extend(identities);
                true
            }
            None => false,
        }
    }

    /// Puts a visitor in the lobby; the receiver learns whether a host admits them.
    pub fn knock(&self, room: &RoomName, name: String) -> (Knock, oneshot::Receiver<bool>) {
        let (admit, decision) = oneshot::channel();
        let knock = Knock {
            id: ParticipantId(format!("{:016x}", rand::random::<u64>())),
            name: name.clone(),
        };
        let mut rooms = self.rooms();
        let entrance = rooms.entry(room.clone()).or_default();
        entrance
            .lobby
            .insert(knock.id.clone(), Waiter { name, admit });
        (knock, decision)
    }

    /// A host's answer to a knock. False when nobody with that id waits.
    pub fn decide(&self, room: &RoomName, id: &ParticipantId, admit: bool) -> bool {
        let waiter = self
            .rooms()
            .get_mut(room)
            .and_then(|entrance| entrance.lobby.remove(id));
        waiter.is_some_and(|waiter| waiter.admit.send(admit).is_ok())
    }

    /// The waiting visitor went away.
    pub fn withdraw(&self, room: &RoomName, id: &ParticipantId) {
        if let Some(entrance) = self.rooms().get_mut(room) {
            entrance.lobby.remove(id);
        }
    }

    pub fn knocks(&self, room: &RoomName) -> Vec<Knock> {
        self.rooms().get(room).map_or_else(Vec::new, |entrance| {
            entrance
                .lobby
                .iter()
                .map(|(id, waiter)| Knock {
                    id: id.clone(),
                    name: waiter.name.clone(),
                })
                .collect()
        })
    }

    pub async fn access(&self, room: &RoomName) -> Result<AccessState, SettingsError> {
        self.with(room, |entrance| entrance.access()).await
    }

    pub async fn set_locked(
        &self,
        room: &RoomName,
        locked: bool,
    ) -> Result<AccessState, SettingsError> {
        self.with(room, |entrance| {
            entrance.locked = locked;
            entrance.access()
        })
        .await
    }

    pub async fn set_lobby(
        &self,
        room: &RoomName,
        lobby: bool,
    ) -> Result<AccessState, SettingsError> {
        self.change_settings(room, |settings| settings.lobby = lobby)
            .await
    }

    pub async fn set_viewers_chat(
        &self,
        room: &RoomName,
        enabled: bool,
    ) -> Result<AccessState, SettingsError> {
        self.change_settings(room, |settings| settings.viewers_chat = enabled)
            .await
    }

    /// Sets the room's password (hashed here), or removes it with `None`; a host at `ip` changes
    /// it as often as a visitor there may try one.
    pub async fn set_password(
        &self,
        room: &RoomName,
        password: Option<String>,
        ip: IpAddr,
    ) -> Result<AccessState, PasswordChangeError> {
        let hash = match password {
            Some(password) => {
                self.password_attempts
                    .take(ip, Instant::now())
                    .map_err(PasswordChangeError::TooManyAttempts)?;
                let hashed = self.passwords.hash(password).await;
                Some(hashed.ok_or_else(|| SettingsError("hashing stopped".into()))??)
            }
            None => None,
        };
        Ok(self
            .change_settings(room, |settings| settings.password_hash = hash)
            .await?)
    }

    async fn change_settings(
        &self,
        room: &RoomName,
        change: impl FnOnce(&mut StoredRoomSettings),
    ) -> Result<AccessState, SettingsError> {
        let settings = self
            .with(room, |entrance| {
                change(&mut entrance.settings);
                entrance.settings.clone()
            })
            .await?;
        self.store.save(room, &settings).await?;
        self.access(room).await
    }

    /// Runs `f` on the room's entrance, loading its settings from the store the first time.
    async fn with<T>(
        &self,
        room: &RoomName,
        f: impl FnOnce(&mut Entrance) -> T,
    ) -> Result<T, SettingsError> {
        let cached = self.rooms().contains_key(room);
        let loaded = if cached {
            None
        } else {
            Some(self.store.load(room).await?.unwrap_or_default())
        };
        let mut rooms = self.rooms();
        let entrance = rooms.entry(room.clone()).or_insert_with(|| Entrance {
            settings: loaded.unwrap_or_default(),
            ..Entrance::default()
        });
        Ok(f(entrance))
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomName, Entrance>> {
        self.rooms
            .lock()
            .expect("no panic under the entrances lock")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("too many password changes, retry in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    #[error(transparent)]
    Storage(#[from] SettingsError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::MemorySettingsStore;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn claims(role: Role) -> JoinClaims {
        JoinClaims {
            room: "r".into(),
            name: None,
            role,
            exp: u64::MAX,
            jti: format!("{role:?}"),
        }
    }

    fn visitor<'a>(token: Option<&'a JoinClaims>, password: Option<&'a str>) -> Visitor<'a> {
        Visitor {
            ip: IP,
            token,
            password,
        }
    }

    #[tokio::test]
    async fn tokens_open_doors_by_role_and_the_lobby_holds_newcomers_only() {
        let entrances = Entrances::new(Arc::new(MemorySettingsStore::default()), 100);
        let room = RoomName::parse("r").unwrap();
        entrances
            .set_password(&room, Some("pw".into()), IP)
            .await
            .unwrap();
        entrances.set_lobby(&room, true).await.unwrap();
        entrances.set_locked(&room, true).await.unwrap();
        let (host, participant) = (claims(Role::Host), claims(Role::Participant));

        assert_eq!(
            entrances
                .check(&room, &visitor(Some(&host), None), Arrival::Newcomer)
                .await
                .unwrap(),
            Entry::Enter
        );
        assert!(matches!(
            entrances
                .check(&room, &visitor(Some(&participant), None), Arrival::Newcomer)
                .await,
            Err(Refusal::Locked)
        ));
        entrances.set_locked(&room, false).await.unwrap();
        assert_eq!(
            entrances
                .check(&room, &visitor(Some(&participant), None), Arrival::Newcomer)
                .await
                .unwrap(),
            Entry::Enter
        );
        assert!(matches!(
            entrances
                .check(&room, &visitor(None, None), Arrival::Newcomer)
                .await,
            Err(Refusal::PasswordRequired)
        ));
        assert!(matches!(
            entrances
                .check(&room, &visitor(None, Some("no")), Arrival::Newcomer)
                .await,
            Err(Refusal::WrongPassword)
        ));
        assert_eq!(
            entrances
                .check(&room, &visitor(None, Some("pw")), Arrival::Newcomer)
                .await
                .unwrap(),
            Entry::Wait
        );
        assert_eq!(
            entrances
                .check(&room, &visitor(None, Some("pw")), Arrival::FirstIn)
                .await
                .unwrap(),
            Entry::Enter
        );
        assert_eq!(
            entrances
                .check(&room, &visitor(None, Some("pw")), Arrival::ReturningHost)
                .await
                .unwrap(),
            Entry::Enter
        );
    }

    #[tokio::test]
    async fn a_kicked_token_holder_is_kept_out_without_the_token_too() {
        let entrances = Entrances::new(Arc::new(MemorySettingsStore::default()), 100);
        let room = RoomName::parse("r").unwrap();
        let token = claims(Role::Participant);
        let id = ParticipantId("p".into());
        let identities = visitor(Some(&token), None).identities();
        entrances.entered(&room, &id, identities).await;
        assert!(entrances.ban(&room, &id));
        for comeback in [visitor(Some(&token), None), visitor(None, None)] {
            assert!(matches!(
                entrances.check(&room, &comeback, Arrival::Newcomer).await,
                Err(Refusal::Banned)
            ));
        }
        let other = claims(Role::Viewer);
        assert!(entrances
            .check(&room, &visitor(Some(&other), None), Arrival::Newcomer)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_ban_lasts_until_the_room_empties_and_refusals_leave_nothing_behind() {
        let entrances = Entrances::new(Arc::new(MemorySettingsStore::default()), 100);
        let (room, stranger) = (
            RoomName::parse("r").unwrap(),
            RoomName::parse("probed").unwrap(),
        );
        assert!(entrances
            .check(&stranger, &visitor(None, None), Arrival::FirstIn)
            .await
            .is_ok());
        assert!(entrances.rooms().is_empty(), "checking caches nothing");

        let id = ParticipantId("p".into());
        entrances
            .entered(&room, &id, visitor(None, None).identities())
            .await;
        assert!(entrances.ban(&room, &id));
        assert!(matches!(
            entrances
                .check(&room, &visitor(None, None), Arrival::Newcomer)
                .await,
            Err(Refusal::Banned)
        ));
        entrances.left(&room, &id, true);
        assert!(entrances
            .check(&room, &visitor(None, None), Arrival::FirstIn)
            .await
            .is_ok());
    }
}
