//! Many nodes contend for one room's lease through a simulated Redis and PostgreSQL with slow,
//! reordered-by-delay answers and nodes paused for seconds (a stop-the-world pause, `SIGSTOP`):
//! at no instant do two nodes call themselves the home, a node that calls itself the home really
//! holds the key under the latest epoch, and every new home has a higher epoch than the one before.
//! Rooms keep running (and writing) on nodes whose lease is unconfirmed; PostgreSQL refuses their
//! writes once a successor wrote, and they step down.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use huddle_cluster::{Acquired, Epoch, Lease, LeaseAction, LeaseState, LeaseTimes, NodeId, Token};

/// A deterministic random source (xorshift).
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What travels between a node's lease and Redis or PostgreSQL, with the node and the lease's
/// nonce: an answer goes back to the lease that asked (a driver awaits it on that lease's behalf).
#[derive(Debug)]
struct Message {
    node: usize,
    nonce: u64,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// A request on its way to the store.
    Request(LeaseAction),
    /// The store's answers on their way back.
    Acquired(Acquired),
    Renewed(bool),
}

struct Node {
    id: NodeId,
    lease: Option<Lease>,
    nonce: u64,
    paused_until: Instant,
    /// When a node that lost or never had the lease asks again.
    retry_at: Instant,
}

#[test]
fn a_room_never_has_two_homes() {
    let start = Instant::now();
    let times = LeaseTimes::new(Duration::from_secs(3));
    let step = Duration::from_millis(10);
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut nodes: Vec<Node> = (0..3)
        .map(|i| Node {
            id: NodeId(format!("n{i}")),
            lease: None,
            nonce: 0,
            paused_until: start,
            retry_at: start,
        })
        .collect();
    // Redis: the key's token and when it expires, and the last epoch issued. PostgreSQL: the
    // highest epoch written under.
    let mut key: Option<(Token, Instant)> = None;
    let mut issued = Epoch(0);
    let mut written = Epoch(0);
    let mut fenced_out = 0;
    // Messages in flight by arrival time (and a sequence number to keep equal times apart).
    let mut in_flight: BTreeMap<(Instant, u64), Message> = BTreeMap::new();
    let mut sequence = 0;
    let mut homes: Vec<(Instant, usize, Epoch)> = Vec::new();

    let mut now = start;
    while now < start + Duration::from_secs(600) {
        now += step;
        // What is due arrives; a paused node's answers wait for it to wake.
        let due: Vec<(Instant, u64)> = in_flight
            .range(..=(now, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for at in due {
            let message = in_flight.remove(&at).expect("listed above");
            let delay = Duration::from_millis(random.below(400));
            sequence += 1;
            let Message { node, nonce, body } = message;
            if let Body::Request(action) = body {
                if let Some(answer) = serve(&mut key, &mut issued, written, now, action) {
                    let answer = Message {
                        node,
                        nonce,
                        body: answer,
                    };
                    in_flight.insert((now + delay, sequence), answer);
                }
                continue;
            }
            let receiver = &mut nodes[node];
            if receiver.paused_until > now {
                let later = Message { node, nonce, body };
                in_flight.insert((receiver.paused_until, sequence), later);
                continue;
            }
            let Some(lease) = receiver.lease.as_mut().filter(|_| receiver.nonce == nonce) else {
                continue;
            };
            match body {
                Body::Acquired(answer) => lease.acquired(answer, now),
                Body::Renewed(still_ours) => lease.renewed(still_ours, now),
                Body::Request(_) => unreachable!("requests are served above"),
            }
        }
        for (index, node) in nodes.iter_mut().enumerate() {
            if node.paused_until > now {
                continue;
            }
            // Now and then a node stops for up to twice the lease's time to live.
            if random.below(1500) == 0 {
                node.paused_until = now + Duration::from_millis(random.below(6000));
                continue;
            }
            let gone = node
                .lease
                .as_ref()
                .is_none_or(|l| matches!(l.state(), LeaseState::Lost | LeaseState::Released));
            if gone && now >= node.retry_at {
                node.nonce += 1;
                let token = Token {
                    node: node.id.clone(),
                    nonce: node.nonce,
                };
                node.lease = Some(Lease::acquire(token, times, now));
                node.retry_at = now + Duration::from_millis(500 + random.below(2000));
            }
            let Some(lease) = node.lease.as_mut() else {
                continue;
            };
            if lease.next_timeout().is_some_and(|t| t <= now) {
                lease.handle_timeout(now);
            }
            // The room runs: whoever runs it writes (a whiteboard stroke, say).
            if let Some(epoch) = lease.running_epoch() {
                if epoch >= written {
                    written = epoch;
                } else {
                    lease.fenced_out();
                    fenced_out += 1;
                }
            }
            // A home gives the room up now and then (it emptied).
            if lease.home_epoch(now).is_some() && random.below(500) == 0 {
                lease.release();
            }
            while let Some(action) = lease.poll_action() {
                sequence += 1;
                let delay = Duration::from_millis(random.below(400));
                let request = Message {
                    node: index,
                    nonce: node.nonce,
                    body: Body::Request(action),
                };
                in_flight.insert((now + delay, sequence), request);
            }
        }

        let claiming: Vec<(usize, Epoch)> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.paused_until <= now)
            .filter_map(|(i, n)| Some((i, n.lease.as_ref()?.home_epoch(now)?)))
            .collect();
        assert!(
            claiming.len() <= 1,
            "two homes at {:?}: {claiming:?}",
            now - start
        );
        if let Some(&(index, home_epoch)) = claiming.first() {
            let (holder, expires) = key.as_ref().expect("a home holds the key");
            assert_eq!(holder.node, nodes[index].id, "the home holds the key");
            assert!(*expires > now, "the home's key has not expired");
            assert_eq!(home_epoch, issued, "the home has the latest epoch");
            if homes
                .last()
                .is_none_or(|(_, i, e)| (*i, *e) != (index, home_epoch))
            {
                homes.push((now, index, home_epoch));
            }
        }
    }
    assert!(fenced_out > 0, "no former home ever had a write refused");
    // The room changed hands many times, each new home under a higher epoch.
    assert!(
        homes.len() > 100,
        "only {} homes in ten minutes",
        homes.len()
    );
    for pair in homes.windows(2) {
        assert!(
            pair[1].2 > pair[0].2,
            "each new home has a higher epoch: {pair:?}"
        );
    }
}

/// Redis's clock runs this much faster than the nodes': its keys expire early, as seen from them.
const REDIS_CLOCK_RATE: f64 = 1.05;

/// Redis's scripts serving one request at `now`; a win issues the next epoch, above the highest
/// PostgreSQL has seen written.
fn serve(
    key: &mut Option<(Token, Instant)>,
    issued: &mut Epoch,
    written: Epoch,
    now: Instant,
    action: LeaseAction,
) -> Option<Body> {
    if key.as_ref().is_some_and(|(_, expires)| *expires <= now) {
        *key = None;
    }
    match action {
        LeaseAction::Acquire { token, ttl } => {
            let answer = match key {
                None => {
                    *issued = Epoch(issued.0.max(written.0) + 1);
                    Acquired::Won(*issued)
                }
                Some((held, _)) if *held == token => Acquired::StillOurs,
                Some(_) => Acquired::Taken,
            };
            if answer != Acquired::Taken {
                *key = Some((token, now + ttl.div_f64(REDIS_CLOCK_RATE)));
            }
            Some(Body::Acquired(answer))
        }
        LeaseAction::Renew { token, ttl } => {
            let still_ours = key.as_ref().is_some_and(|(held, _)| *held == token);
            if still_ours {
                *key = Some((token, now + ttl.div_f64(REDIS_CLOCK_RATE)));
            }
            Some(Body::Renewed(still_ours))
        }
        LeaseAction::Release { token } | LeaseAction::HandOver { token, .. } => {
            if key.as_ref().is_some_and(|(held, _)| *held == token) {
                *key = None;
            }
            None
        }
    }
}
