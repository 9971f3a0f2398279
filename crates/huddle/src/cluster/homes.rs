//! Where each room lives, as this node finds out and decides: the lease holder in the directory
//! if there is one, else a home placed among the serving nodes (power of two choices); a room
//! placed here is ours once its lease is won, and its keeper (`keeper.rs`) holds it from then on.
//!
//! One join decides for a room at a time: the others wait for its answer, so two joins never
//! ask for the same room's lease with two tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use huddle_cluster::{
    Answer, Directory, Epoch, Lease, LeaseAction, LeaseTimes, Node, NodeId, Placer, Token,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::drain::BeforeMove;
use super::{keeper, Link};
use crate::rooms::{Away, LocalRegistry, RoomName};
use crate::store::{Fences, Store};

/// How long a room's lease lasts without renewal: a dead node's rooms find a new home this soon.
const LEASE_TTL: Duration = Duration::from_secs(6);
/// How long an empty room keeps its home here: people reloading the page come back to it.
const LINGER: Duration = Duration::from_secs(30);
/// Rooms placed count towards their node's load this long, until heartbeats show them; a room's
/// placement stands this long for every node, so that joins arriving at several at once agree.
pub(super) const PLACEMENT_WINDOW: Duration = Duration::from_secs(5);

/// One room's home on this node, from the first join that asked for it.
pub(super) struct RoomHome {
    status: watch::Sender<Status>,
    /// Joins let in and not in the local registry yet: the room is not given up under them.
    joining: Mutex<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// A join is finding out where the room lives.
    Deciding,
    Home,
    /// It lives elsewhere, or cannot be told now.
    Away(Away),
    /// It was homed here and is no more (given up, or its lease lost): ask again.
    Gone,
}

/// A join let into a room homed here; the room stays here at least until it is dropped.
pub(super) struct Admitted(Arc<RoomHome>);

impl Drop for Admitted {
    fn drop(&mut self) {
        *self.0.joining.lock().expect("never poisoned") -= 1;
    }
}

#[derive(Default)]
pub(super) struct HomeMetrics {
    pub homed: Gauge,
    pub redirects: Counter,
    pub renewals_failed: Counter,
    pub leases_lost: Counter,
    pub fencing_refusals: Counter,
    pub migrations_planned: Counter,
    pub migrations_forced: Counter,
}

pub(super) struct Homes {
    pub(super) link: Arc<Link>,
    pub(super) local: Arc<LocalRegistry>,
    pub(super) times: LeaseTimes,
    pub(super) linger: Duration,
    pub(super) shutdown: CancellationToken,
    pub(super) metrics: HomeMetrics,
    /// The epochs the rooms homed here write under.
    pub(super) fences: Fences,
    /// Where the highest epoch each room was written under is read.
    store: Store,
    rooms: Mutex<HashMap<RoomName, Arc<RoomHome>>>,
    pub(super) placer: Mutex<Placer>,
    /// Set when the drain begins.
    pub(super) before_move: OnceLock<BeforeMove>,
}

impl Homes {
    pub fn new(
        link: Arc<Link>,
        local: Arc<LocalRegistry>,
        (store, fences): (Store, Fences),
        shutdown: CancellationToken,
        registry: &mut Registry,
    ) -> Arc<Self> {
        let metrics = HomeMetrics::default();
        registry.register(
            "huddle_cluster_rooms_homed",
            "Rooms whose home is this node",
            metrics.homed.clone(),
        );
        registry.register(
            "huddle_cluster_redirects",
            "Joins sent to the room's home on another node",
            metrics.redirects.clone(),
        );
        registry.register(
            "huddle_cluster_lease_renewals_failed",
            "Renewals of a room's lease that Redis refused or did not answer",
            metrics.renewals_failed.clone(),
        );
        registry.register(
            "huddle_cluster_leases_lost",
            "Rooms whose lease another node took: their members were sent to the new home",
            metrics.leases_lost.clone(),
        );
        registry.register(
            "huddle_cluster_fencing_refusals",
            "Rooms whose write the database refused under an old epoch: this node stepped down",
            metrics.fencing_refusals.clone(),
        );
        registry.register(
            "huddle_cluster_migrations_planned",
            "Members of a draining node's rooms told to move to the room's next home with a pass",
            metrics.migrations_planned.clone(),
        );
        registry.register(
            "huddle_cluster_migrations_forced",
            "Members of a draining node's rooms cut off to reconnect (no pass, or still here at \
             the drain's deadline)",
            metrics.migrations_forced.clone(),
        );
        Arc::new(Homes {
            link,
            local,
            times: LeaseTimes::new(LEASE_TTL),
            linger: LINGER,
            shutdown,
            metrics,
            fences,
            store,
            rooms: Mutex::default(),
            placer: Mutex::new(Placer::new(PLACEMENT_WINDOW)),
            before_move: OnceLock::new(),
        })
    }

    /// Whether `room` lives here, placing it if it has no home (here, if `placed` names this
    /// node).
    pub async fn claim(
        self: &Arc<Self>,
        room: &RoomName,
        placed: Option<&str>,
    ) -> Result<(), Away> {
        loop {
            let (home, deciding) = self.entry(room);
            let mut status = home.status.subscribe();
            if deciding {
                // On a task of its own: a join given up halfway must not leave the room
                // undecided for those waiting on it.
                let (homes, room) = (Arc::clone(self), room.clone());
                let placed = placed.map(str::to_owned);
                tokio::spawn(async move { homes.decide(&room, home, placed.as_deref()).await });
            }
            let decided = status
                .wait_for(|status| *status != Status::Deciding)
                .await
                .map(|status| status.clone());
            match decided {
                Ok(Status::Home) => return Ok(()),
                Ok(Status::Away(away)) => return Err(away),
                Ok(Status::Deciding | Status::Gone) | Err(_) => continue,
            }
        }
    }

    /// Lets a join into a room homed here; `Moving` if it is not (any more).
    pub fn admit(&self, room: &RoomName) -> Result<Admitted, Away> {
        let home = self.homed_here(room).ok_or(Away::Moving)?;
        *home.joining.lock().expect("never poisoned") += 1;
        Ok(Admitted(home))
    }

    fn homed_here(&self, room: &RoomName) -> Option<Arc<RoomHome>> {
        let rooms = self.rooms.lock().expect("never poisoned");
        let home = rooms.get(room)?;
        let homed = *home.status.borrow() == Status::Home;
        homed.then(|| Arc::clone(home))
    }

    /// Whether this node posts the room's scheduled messages: homed here, or nowhere (then the
    /// database's conditional update lets one node post each). Not when Redis cannot tell.
    pub async fn posts_scheduled(&self, room: &RoomName) -> bool {
        if self.homed_here(room).is_some() {
            return true;
        }
        match self.link.directory() {
            Some(directory) => matches!(directory.home(room.as_str()).await, Ok(None)),
            None => false,
        }
    }

    /// The room's entry, and whether this caller made it and so decides.
    fn entry(&self, room: &RoomName) -> (Arc<RoomHome>, bool) {
        let mut rooms = self.rooms.lock().expect("never poisoned");
        if let Some(home) = rooms.get(room) {
            return (Arc::clone(home), false);
        }
        let home = Arc::new(RoomHome {
            status: watch::Sender::new(Status::Deciding),
            joining: Mutex::new(0),
        });
        rooms.insert(room.clone(), Arc::clone(&home));
        (home, true)
    }

    /// Finds out where the room lives, and tells those waiting on `home`.
    async fn decide(self: &Arc<Self>, room: &RoomName, home: Arc<RoomHome>, placed: Option<&str>) {
        match self.find_or_place(room, placed).await {
            Ok(lease) => {
                if let Some(Epoch(epoch)) = lease.running_epoch() {
                    self.fences.set(room.as_str(), epoch);
                }
                self.metrics.homed.inc();
                home.status.send_replace(Status::Home);
                tokio::spawn(keeper::keep(Arc::clone(self), room.clone(), home, lease));
            }
            Err(away) => self.forget(room, &home, Status::Away(away)),
        }
    }

    /// The room's lease won here, or where the room lives.
    async fn find_or_place(&self, room: &RoomName, placed: Option<&str>) -> Result<Lease, Away> {
        let directory = self.link.directory().ok_or(Away::Moving)?;
        if let Some(holder) = directory.home(room.as_str()).await.map_err(moving)? {
            return Err(self.where_is(directory, &holder.node).await);
        }
        let me = self.link.me();
        if placed != Some(me.0.as_str()) {
            if let Some(node) = self.place(directory, room).await? {
                return Err(Away::Elsewhere {
                    url: node.public_url,
                    node: node.id.0,
                });
            }
        }
        let token = Token {
            node: me.clone(),
            nonce: rand::random(),
        };
        let mut lease = Lease::acquire(token, self.times, Instant::now());
        self.run_actions(room, &mut lease).await;
        if lease.home_epoch(Instant::now()).is_some() {
            return Ok(lease);
        }
        // A win answered too late to be sure of is given back rather than left to expire.
        lease.release();
        self.run_actions(room, &mut lease).await;
        // Another node won the room meanwhile, or Redis did not answer.
        Err(self.held_by(room).await)
    }

    /// Where the node now holding the room's lease is reached; `Moving` when nobody holds it or
    /// Redis cannot tell.
    pub async fn held_by(&self, room: &RoomName) -> Away {
        let Some(directory) = self.link.directory() else {
            return Away::Moving;
        };
        match directory.home(room.as_str()).await {
            Ok(Some(holder)) => self.where_is(directory, &holder.node).await,
            Ok(None) | Err(_) => Away::Moving,
        }
    }

    /// Places a room that has no home: the node every placer agrees on (the first to say, in
    /// Redis), if it is another live one; `None` when it is this node, or the node placed on left
    /// since (the roster is up to a heartbeat old) and this node takes the room instead.
    async fn place(&self, directory: &Directory, room: &RoomName) -> Result<Option<Node>, Away> {
        let now = Instant::now();
        let nodes = self.link.roster.nodes(now).ok_or(Away::Moving)?;
        let chosen = {
            let mut placer = self.placer.lock().expect("never poisoned");
            placer.choose(&nodes, now, |n| rand::random_range(0..n))
        };
        let chosen = chosen.ok_or(Away::Moving)?;
        let agreed = directory
            .place(room.as_str(), &chosen, PLACEMENT_WINDOW)
            .await
            .map_err(moving)?;
        if agreed != chosen {
            let mut placer = self.placer.lock().expect("never poisoned");
            placer.overruled(&chosen, agreed.clone());
        }
        if &agreed == self.link.me() {
            return Ok(None);
        }
        directory.node(&agreed).await.map_err(moving)
    }

    /// Where the node holding a room's lease is reached; `Moving` if it is gone (its lease will
    /// expire) or is this node's former self.
    async fn where_is(&self, directory: &Directory, holder: &NodeId) -> Away {
        if holder == self.link.me() {
            return Away::Moving;
        }
        match directory.node(holder).await {
            Ok(Some(node)) => Away::Elsewhere {
                url: node.public_url,
                node: node.id.0,
            },
            Ok(None) | Err(_) => Away::Moving,
        }
    }

    /// Sends the lease's pending requests to Redis and feeds the answers back.
    pub async fn run_actions(&self, room: &RoomName, lease: &mut Lease) {
        let Some(directory) = self.link.directory() else {
            return;
        };
        while let Some(action) = lease.poll_action() {
            let renewal = matches!(action, LeaseAction::Renew { .. });
            let floor = match action {
                LeaseAction::Acquire { .. } => self.store.epoch_floor(room.as_str()).await,
                _ => Ok(0),
            };
            let answer = match floor {
                Ok(floor) => directory.lease(room.as_str(), &action, Epoch(floor)).await,
                Err(e) => {
                    tracing::warn!(%room, "cannot read the room's epoch floor: {e}");
                    lease.failed(Instant::now());
                    continue;
                }
            };
            match answer {
                Ok(answer) => {
                    if renewal && answer == Answer::Renewed(false) {
                        self.metrics.renewals_failed.inc();
                    }
                    lease.answered(answer, Instant::now());
                }
                Err(e) => {
                    if renewal {
                        self.metrics.renewals_failed.inc();
                    }
                    tracing::debug!(%room, "lease request failed: {e}");
                    lease.failed(Instant::now());
                }
            }
        }
    }

    /// Gives the room up if nobody is in it or on the way in: true if it was.
    pub fn vacate(&self, room: &RoomName, home: &Arc<RoomHome>) -> bool {
        let mut rooms = self.rooms.lock().expect("never poisoned");
        let joining = *home.joining.lock().expect("never poisoned");
        if joining > 0 || self.local.holds(room) {
            return false;
        }
        Self::remove(&mut rooms, room, home, Status::Gone);
        self.fences.remove(room.as_str());
        self.metrics.homed.dec();
        true
    }

    /// The node shuts down: the room is no longer homed here, whoever is in it. Its writes still
    /// carry its epoch, for the whiteboard stored last.
    pub fn give_up(&self, room: &RoomName, home: &Arc<RoomHome>) {
        self.forget(room, home, Status::Gone);
        self.metrics.homed.dec();
    }

    /// Another node holds the room's lease now, or wrote under a higher epoch: this node writes
    /// nothing more of the room.
    pub fn lost(&self, room: &RoomName, home: &Arc<RoomHome>) {
        self.moved(room, home);
        self.metrics.leases_lost.inc();
    }

    /// The room's home is another node now: this node writes nothing more of it.
    pub fn moved(&self, room: &RoomName, home: &Arc<RoomHome>) {
        self.give_up(room, home);
        self.fences.remove(room.as_str());
    }

    fn forget(&self, room: &RoomName, home: &Arc<RoomHome>, status: Status) {
        let mut rooms = self.rooms.lock().expect("never poisoned");
        Self::remove(&mut rooms, room, home, status);
    }

    fn remove(
        rooms: &mut HashMap<RoomName, Arc<RoomHome>>,
        room: &RoomName,
        home: &Arc<RoomHome>,
        status: Status,
    ) {
        if rooms.get(room).is_some_and(|held| Arc::ptr_eq(held, home)) {
            rooms.remove(room);
        }
        home.status.send_replace(status);
    }
}

fn moving(e: huddle_cluster::DirectoryError) -> Away {
    tracing::debug!("the cluster's directory did not answer: {e}");
    Away::Moving
}
