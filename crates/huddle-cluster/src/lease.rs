//! One room's home lease, as the node that holds (or wants) it sees it.
//!
//! The lease lives in Redis: a key per room whose value is the holder's [`Token`], set only if
//! absent, with a time to live; renewed and released only by the holder (compare-and-renew,
//! compare-and-delete). The script that grants it also issues the room's next fencing [`Epoch`],
//! in the same atomic step, above the highest epoch PostgreSQL has seen written (so that a Redis
//! that lost its data never issues an old one again). Every write only a home may make carries the
//! epoch, and PostgreSQL refuses one whose epoch is below the highest it took: a former home that
//! was paused or cut off past its lease can never overwrite its successor. Epochs come with the
//! lease, never after it: a win answered late cannot raise the epoch over a successor's.
//!
//! Time is only ever measured on this node's monotonic clock, from when a request was *sent*: a
//! lease granted with time to live `ttl` to a request sent at `t` is surely still ours until
//! `t + ttl` on Redis's clock, so this node counts it ours until `t + ttl - margin` (the margin for
//! the two clocks' rates). Past that without a renewal the node stops calling itself the home,
//! yet keeps the room running: if Redis is away nobody else can take the lease, and the fencing
//! epoch still guards every write. It asks for the lease again; whoever else holds it by then is
//! the home, and this node steps down.

use std::time::{Duration, Instant};

use crate::node::NodeId;

/// A room's fencing epoch: raised by every new home, carried by every write a home makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

/// The value a holder puts in the lease key: its node and a nonce unique to this attempt, so that a
/// node which lost the lease and won it again never mistakes the old lease for the new.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    pub node: NodeId,
    pub nonce: u64,
}

/// How long a lease lasts and how it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// The key's time to live in Redis: how long a dead node keeps its rooms.
    pub ttl: Duration,
    /// Renewals are sent this often while the lease is held (a third of `ttl` leaves two tries).
    pub renew_every: Duration,
    /// Taken off `ttl` for the difference between this node's clock rate and Redis's.
    pub margin: Duration,
}

impl LeaseTimes {
    /// A lease of `ttl`, renewed every third of it, with a tenth of it as margin.
    pub fn new(ttl: Duration) -> Self {
        LeaseTimes {
            ttl,
            renew_every: ttl / 3,
            margin: ttl / 10,
        }
    }

    fn valid_from(&self, sent: Instant) -> Instant {
        sent + self.ttl.saturating_sub(self.margin)
    }
}

/// Where this node is with the room's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Asking Redis for the lease (sent at `sent`).
    Acquiring { sent: Instant },
    /// The home, surely until `valid_until`.
    Held {
        epoch: Epoch,
        valid_until: Instant,
        renew_at: Instant,
    },
    /// The lease outlived its last renewal (Redis away, or slow). The room keeps running under its
    /// epoch, which PostgreSQL still guards; the node asks for the lease again every `renew_every`.
    Unconfirmed { epoch: Epoch, retry_at: Instant },
    /// Somebody else holds the lease, or a fenced write was refused: this node is not the home and
    /// must hand the room's members to whoever is.
    Lost,
    /// Given back (the room emptied, or moved away on a drain).
    Released,
}

/// Redis's answer to an Acquire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// The key was absent and now holds our token, under this new epoch.
    Won(Epoch),
    /// The key still held our token; its time to live starts again.
    StillOurs,
    /// Another token holds it: another node is the home.
    Taken,
}

/// The answer to any lease action, for [`Lease::answered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Acquired(Acquired),
    /// Whether the renewal found the key still ours.
    Renewed(bool),
    Released,
}

/// What the driver must do for the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseAction {
    /// SET the key to the token with the lease's time to live and issue the next epoch if it is
    /// absent, or renew it if it holds the token already (one atomic script); answer with
    /// [`Lease::acquired`].
    Acquire { token: Token, ttl: Duration },
    /// Renew the key's time to live if it still holds the token; answer with [`Lease::renewed`].
    Renew { token: Token, ttl: Duration },
    /// Delete the key if it still holds the token.
    Release { token: Token },
    /// Delete the key if it still holds the token and, in the same step, place the room on `to`
    /// for `placed_for`: the room's next home, chosen by this one (a drain).
    HandOver {
        token: Token,
        to: NodeId,
        placed_for: Duration,
    },
}

/// One room's lease on this node.
#[derive(Debug)]
pub struct Lease {
    token: Token,
    times: LeaseTimes,
    state: LeaseState,
    /// A request sent and not answered yet, with when it was sent.
    in_flight: Option<Instant>,
    /// Actions the driver has not taken yet.
    pending: Option<LeaseAction>,
}

impl Lease {
    /// This node wants to be the room's home: the lease is asked for at once.
    pub fn acquire(token: Token, times: LeaseTimes, now: Instant) -> Self {
        let mut lease = Lease {
            token,
            times,
            state: LeaseState::Acquiring { sent: now },
            in_flight: None,
            pending: None,
        };
        lease.send(
            now,
            LeaseAction::Acquire {
                token: lease.token.clone(),
                ttl: times.ttl,
            },
        );
        lease
    }

    pub fn state(&self) -> &LeaseState {
        &self.state
    }

    /// The epoch to write under, while this node is the home for sure.
    pub fn home_epoch(&self, now: Instant) -> Option<Epoch> {
        match self.state {
            LeaseState::Held {
                epoch, valid_until, ..
            } if now < valid_until => Some(epoch),
            _ => None,
        }
    }

    /// The epoch the room runs under, also while the lease is unconfirmed: writes carry it and
    /// PostgreSQL refuses them once a successor wrote under a higher one.
    pub fn running_epoch(&self) -> Option<Epoch> {
        match self.state {
            LeaseState::Held { epoch, .. } | LeaseState::Unconfirmed { epoch, .. } => Some(epoch),
            _ => None,
        }
    }

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<LeaseAction> {
        self.pending.take()
    }

    /// When [`Lease::handle_timeout`] must next be called, if ever.
    pub fn next_timeout(&self) -> Option<Instant> {
        match self.state {
            LeaseState::Held {
                valid_until,
                renew_at,
                ..
            } => Some(if self.in_flight.is_some() {
                valid_until
            } else {
                renew_at.min(valid_until)
            }),
            LeaseState::Unconfirmed { retry_at, .. } if self.in_flight.is_none() => Some(retry_at),
            _ => None,
        }
    }

    /// Time passed: renewals fall due, and a lease not renewed in time stops being sure.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            LeaseState::Held {
                epoch, valid_until, ..
            } if now >= valid_until => {
                // A renewal still out is given up: answered now, it would not make the lease sure.
                self.in_flight = None;
                self.state = LeaseState::Unconfirmed {
                    epoch,
                    retry_at: now,
                };
                self.handle_timeout(now);
            }
            LeaseState::Held { renew_at, .. } if now >= renew_at && self.in_flight.is_none() => {
                self.renew(now);
            }
            LeaseState::Unconfirmed { retry_at, .. }
                if now >= retry_at && self.in_flight.is_none() =>
            {
                self.send(
                    now,
                    LeaseAction::Acquire {
                        token: self.token.clone(),
                        ttl: self.times.ttl,
                    },
                );
            }
            _ => {}
        }
    }

    /// An action's answer came back.
    pub fn answered(&mut self, answer: Answer, now: Instant) {
        match answer {
            Answer::Acquired(acquired) => self.acquired(acquired, now),
            Answer::Renewed(still_ours) => self.renewed(still_ours, now),
            Answer::Released => {}
        }
    }

    /// Redis answered an Acquire.
    pub fn acquired(&mut self, answer: Acquired, now: Instant) {
        let asking = matches!(
            self.state,
            LeaseState::Acquiring { .. } | LeaseState::Unconfirmed { .. }
        );
        let Some(sent) = self.in_flight.filter(|_| asking) else {
            return;
        };
        self.in_flight = None;
        match (&self.state, answer) {
            (_, Acquired::Won(epoch)) => self.hold(epoch, sent),
            // Still ours after all: nobody could have had a newer epoch without the lease.
            (LeaseState::Unconfirmed { epoch, .. }, Acquired::StillOurs) => self.hold(*epoch, sent),
            // A fresh attempt's token is never in the key already: another answer got lost.
            (LeaseState::Acquiring { .. }, Acquired::StillOurs) | (_, Acquired::Taken) => {
                self.state = LeaseState::Lost;
            }
            _ => {}
        }
        // A win answered too late to be sure of is not the end: the next timeout asks again.
        self.handle_timeout(now);
    }

    /// Redis answered a Renew: `still_ours` unless the key expired or holds another token.
    pub fn renewed(&mut self, still_ours: bool, now: Instant) {
        let renewing = matches!(self.state, LeaseState::Held { .. });
        let Some(sent) = self.in_flight.filter(|_| renewing) else {
            return;
        };
        self.in_flight = None;
        match self.state {
            LeaseState::Held { epoch, .. } if still_ours => self.hold(epoch, sent),
            LeaseState::Held { epoch, .. } => {
                // Expired in Redis before the renewal came: ask for it again, as after an outage.
                self.state = LeaseState::Unconfirmed {
                    epoch,
                    retry_at: now,
                };
                self.handle_timeout(now);
            }
            _ => {}
        }
    }

    /// A request failed (Redis or PostgreSQL unreachable): nothing is known. While held, the next
    /// renewal is tried at the next due time; an unconfirmed lease retries after `renew_every`.
    pub fn failed(&mut self, now: Instant) {
        if self.in_flight.take().is_none() {
            return;
        }
        match self.state {
            LeaseState::Acquiring { .. } => {
                // Not the home yet: another node may be placed; the caller retries placement.
                self.state = LeaseState::Lost;
            }
            LeaseState::Held {
                epoch, valid_until, ..
            } => {
                self.state = LeaseState::Held {
                    epoch,
                    valid_until,
                    renew_at: (now + self.times.renew_every / 2).min(valid_until),
                };
            }
            LeaseState::Unconfirmed { epoch, .. } => {
                self.state = LeaseState::Unconfirmed {
                    epoch,
                    retry_at: now + self.times.renew_every,
                };
            }
            LeaseState::Lost | LeaseState::Released => {}
        }
    }

    /// A write under this lease's epoch was refused: a successor wrote under a higher one. Step
    /// down.
    pub fn fenced_out(&mut self) {
        self.in_flight = None;
        self.state = LeaseState::Lost;
    }

    /// The room needs no home here any more (it emptied, or a drain moved it): give the lease back.
    pub fn release(&mut self) {
        self.give_back(|token| LeaseAction::Release { token });
    }

    /// The room moves to `to` (this node drains): give the lease back and place the room there
    /// for `placed_for`, so that its members' joins all go to `to`, which takes the lease.
    pub fn hand_over(&mut self, to: NodeId, placed_for: Duration) {
        self.give_back(|token| LeaseAction::HandOver {
            token,
            to,
            placed_for,
        });
    }

    fn give_back(&mut self, action: impl FnOnce(Token) -> LeaseAction) {
        if matches!(self.state, LeaseState::Lost | LeaseState::Released) {
            return;
        }
        self.in_flight = None;
        self.state = LeaseState::Released;
        self.pending = Some(action(self.token.clone()));
    }

    fn hold(&mut self, epoch: Epoch, sent: Instant) {
        self.state = LeaseState::Held {
            epoch,
            valid_until: self.times.valid_from(sent),
            renew_at: sent + self.times.renew_every,
        };
    }

    fn renew(&mut self, now: Instant) {
        self.send(
            now,
            LeaseAction::Renew {
                token: self.token.clone(),
                ttl: self.times.ttl,
            },
        );
    }

    fn send(&mut self, now: Instant, action: LeaseAction) {
        self.in_flight = Some(now);
        self.pending = Some(action);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(9);

    fn token() -> Token {
        Token {
            node: NodeId("a".into()),
            nonce: 1,
        }
    }

    /// A lease won at `start` under epoch 7.
    fn held(start: Instant) -> Lease {
        let mut lease = Lease::acquire(token(), LeaseTimes::new(TTL), start);
        assert_eq!(
            lease.poll_action(),
            Some(LeaseAction::Acquire {
                token: token(),
                ttl: TTL
            })
        );
        lease.acquired(Acquired::Won(Epoch(7)), start + Duration::from_millis(5));
        lease
    }

    #[test]
    fn a_lease_handed_over_names_the_next_home_and_is_no_longer_this_nodes() {
        let start = Instant::now();
        let mut lease = held(start);
        let (next, window) = (NodeId("b".into()), Duration::from_secs(5));
        lease.hand_over(next.clone(), window);
        assert_eq!(
            lease.poll_action(),
            Some(LeaseAction::HandOver {
                token: token(),
                to: next.clone(),
                placed_for: window
            })
        );
        assert_eq!(*lease.state(), LeaseState::Released);
        assert_eq!(lease.home_epoch(start), None);
        assert_eq!(lease.next_timeout(), None, "nothing more to renew");
        // Given back once: neither a second hand-over nor a release asks Redis again.
        lease.hand_over(next, window);
        lease.release();
        assert_eq!(lease.poll_action(), None);
    }

    #[test]
    fn a_won_lease_is_sure_until_its_time_to_live_less_the_margin_from_when_it_was_asked() {
        let start = Instant::now();
        let lease = held(start);
        assert_eq!(lease.home_epoch(start), Some(Epoch(7)));
        let sure_until = start + TTL - TTL / 10;
        assert_eq!(
            lease.home_epoch(sure_until - Duration::from_millis(1)),
            Some(Epoch(7))
        );
        assert_eq!(lease.home_epoch(sure_until), None);
        assert_eq!(
            lease.next_timeout(),
            Some(start + TTL / 3),
            "the first renewal"
        );
    }

    #[test]
    fn renewals_keep_the_lease_and_count_from_when_they_were_sent() {
        let start = Instant::now();
        let mut lease = held(start);
        let due = start + TTL / 3;
        lease.handle_timeout(due);
        assert_eq!(
            lease.poll_action(),
            Some(LeaseAction::Renew {
                token: token(),
                ttl: TTL
            })
        );
        lease.renewed(true, due + Duration::from_secs(1));
        assert_eq!(
            lease.home_epoch(due + TTL - TTL / 10 - Duration::from_millis(1)),
            Some(Epoch(7))
        );
        assert_eq!(lease.home_epoch(due + TTL - TTL / 10), None);
    }

    #[test]
    fn a_lease_not_renewed_in_time_keeps_the_room_running_and_asks_again() {
        let start = Instant::now();
        let mut lease = held(start);
        lease.handle_timeout(start + TTL / 3);
        lease.poll_action();
        // Redis does not answer: the renewal is given up when the lease stops being sure.
        let expired = start + TTL - TTL / 10;
        assert_eq!(lease.next_timeout(), Some(expired));
        lease.handle_timeout(expired);
        assert_eq!(lease.home_epoch(expired), None);
        assert_eq!(lease.running_epoch(), Some(Epoch(7)), "the room runs on");
        assert!(matches!(
            lease.poll_action(),
            Some(LeaseAction::Acquire { .. })
        ));
        // Redis is away: try again later, still running.
        lease.failed(expired);
        assert_eq!(lease.next_timeout(), Some(expired + TTL / 3));
        lease.handle_timeout(expired + TTL / 3);
        assert!(matches!(
            lease.poll_action(),
            Some(LeaseAction::Acquire { .. })
        ));
        // Back, and nobody took it: the same epoch, sure again.
        let back = expired + TTL / 3;
        lease.acquired(Acquired::StillOurs, back);
        assert_eq!(lease.home_epoch(back), Some(Epoch(7)));
    }

    #[test]
    fn a_lease_taken_meanwhile_or_a_refused_write_means_stepping_down() {
        let start = Instant::now();
        let mut lease = held(start);
        let expired = start + TTL;
        lease.handle_timeout(expired);
        lease.poll_action();
        lease.acquired(Acquired::Taken, expired);
        assert_eq!(lease.state(), &LeaseState::Lost);
        assert_eq!(lease.running_epoch(), None);

        let mut lease = held(start);
        lease.fenced_out();
        assert_eq!(lease.state(), &LeaseState::Lost);
        assert_eq!(lease.home_epoch(start), None);
    }

    #[test]
    fn a_win_answered_too_late_is_not_trusted_and_is_asked_again() {
        let start = Instant::now();
        let mut lease = Lease::acquire(token(), LeaseTimes::new(TTL), start);
        lease.poll_action();
        // The answer arrives after the lease it granted could have expired.
        let late = start + TTL;
        lease.acquired(Acquired::Won(Epoch(3)), late);
        assert_eq!(lease.home_epoch(late), None);
        assert!(matches!(
            lease.poll_action(),
            Some(LeaseAction::Acquire { .. })
        ));
        lease.acquired(Acquired::StillOurs, late);
        assert_eq!(lease.home_epoch(late), Some(Epoch(3)));
    }

    #[test]
    fn answers_to_requests_no_longer_out_are_ignored() {
        let start = Instant::now();
        let mut lease = held(start);
        // Nothing is out: a stray answer changes nothing.
        lease.renewed(false, start);
        lease.acquired(Acquired::Taken, start);
        assert_eq!(lease.home_epoch(start), Some(Epoch(7)));
    }

    #[test]
    fn releasing_gives_the_key_back_once() {
        let start = Instant::now();
        let mut lease = held(start);
        lease.release();
        assert_eq!(
            lease.poll_action(),
            Some(LeaseAction::Release { token: token() })
        );
        assert_eq!(lease.home_epoch(start), None);
        lease.release();
        assert_eq!(lease.poll_action(), None);
    }
}
