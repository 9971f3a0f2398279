//! Choosing a new room's home: the power of two choices. Two serving nodes drawn at random, the
//! less loaded one wins; a burst of new rooms spreads out without every node reading every other's
//! exact load. Heartbeats report load every second or so, so rooms placed since would be
//! invisible: each placement counts as a participant of its node for `window` (until the
//! heartbeats show it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::node::{Node, NodeId, NodeState};

pub struct Placer {
    window: Duration,
    /// Rooms placed within the window, oldest first.
    recent: VecDeque<(Instant, NodeId)>,
}

impl Placer {
    /// `window`: how long a placement counts towards its node's load; a few heartbeats.
    pub fn new(window: Duration) -> Self {
        Placer {
            window,
            recent: VecDeque::new(),
        }
    }

    /// A home for a new room among the serving `nodes`, or none when no node serves; it counts
    /// towards the node's load at once, so that the next choice, even before this one is
    /// settled, knows of it. `pick(n)` draws an index below `n` at random (the driver's random
    /// source; a fixed one in tests).
    pub fn choose(
        &mut self,
        nodes: &[Node],
        now: Instant,
        mut pick: impl FnMut(usize) -> usize,
    ) -> Option<NodeId> {
        self.forget_before(now);
        let serving: Vec<&Node> = nodes
            .iter()
            .filter(|n| n.state == NodeState::Serving)
            .collect();
        let chosen = match serving.len() {
            0 => return None,
            1 => serving[0],
            n => {
                let first = pick(n) % n;
                // The second draw skips the first: two different nodes.
                let mut second = pick(n - 1) % (n - 1);
                if second >= first {
                    second += 1;
                }
                let (a, b) = (serving[first], serving[second]);
                if self.load(b) < self.load(a) {
                    b
                } else {
                    a
                }
            }
        };
        self.recent.push_back((now, chosen.id.clone()));
        Some(chosen.id.clone())
    }

    /// Another placer's choice for the room stood (it was first): that node counts, not ours.
    pub fn overruled(&mut self, ours: &NodeId, agreed: NodeId) {
        if let Some((_, node)) = self.recent.iter_mut().rev().find(|(_, node)| node == ours) {
            *node = agreed;
        }
    }

    fn forget_before(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.window)
        {
            self.recent.pop_front();
        }
    }

    /// Participants per free share of the busiest worker: a node with few participants but busy
    /// workers (a large webinar) is not light.
    fn load(&self, node: &Node) -> f64 {
        let placed = self.recent.iter().filter(|(_, id)| *id == node.id).count();
        let people = f64::from(node.load.participants) + placed as f64 + 1.0;
        people / (1.0 - node.load.busy).max(0.05)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeLoad;

    fn node(id: &str, state: NodeState, participants: u32, busy: f64) -> Node {
        Node {
            id: NodeId(id.into()),
            public_url: format!("https://{id}.example"),
            state,
            load: NodeLoad {
                participants,
                busy,
                ..NodeLoad::default()
            },
        }
    }

    /// A deterministic random source (xorshift).
    fn random() -> impl FnMut(usize) -> usize {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        }
    }

    #[test]
    fn a_burst_of_rooms_spreads_evenly_before_any_heartbeat_shows_it() {
        let nodes = ["a", "b", "c"].map(|id| node(id, NodeState::Serving, 0, 0.0));
        let mut placer = Placer::new(Duration::from_secs(10));
        let now = Instant::now();
        let mut pick = random();
        let mut counts = std::collections::HashMap::new();
        for _ in 0..300 {
            let home = placer.choose(&nodes, now, &mut pick).unwrap();
            *counts.entry(home).or_insert(0) += 1;
        }
        for (home, count) in &counts {
            assert!((95..=105).contains(count), "{home} got {count} of 300");
        }
    }

    #[test]
    fn draining_nodes_get_nothing_and_no_serving_node_means_no_home() {
        let nodes = [
            node("a", NodeState::Draining, 0, 0.0),
            node("b", NodeState::Serving, 500, 0.9),
        ];
        let mut placer = Placer::new(Duration::from_secs(10));
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(
                placer.choose(&nodes, now, random()),
                Some(NodeId("b".into()))
            );
        }
        let draining = [node("a", NodeState::Draining, 0, 0.0)];
        assert_eq!(placer.choose(&draining, now, random()), None);
        assert_eq!(placer.choose(&[], now, random()), None);
    }

    #[test]
    fn the_lighter_of_two_wins_and_busy_workers_count_as_load() {
        let mut placer = Placer::new(Duration::from_secs(10));
        let now = Instant::now();
        let crowded = [
            node("a", NodeState::Serving, 400, 0.2),
            node("b", NodeState::Serving, 10, 0.1),
        ];
        assert_eq!(
            placer.choose(&crowded, now, |_| 0),
            Some(NodeId("b".into()))
        );
        // Fewer people, but its workers are nearly saturated.
        let busy = [
            node("a", NodeState::Serving, 100, 0.1),
            node("b", NodeState::Serving, 20, 0.97),
        ];
        assert_eq!(placer.choose(&busy, now, |_| 0), Some(NodeId("a".into())));
    }

    #[test]
    fn placements_stop_counting_after_the_window() {
        let nodes = ["a", "b"].map(|id| node(id, NodeState::Serving, 0, 0.0));
        let mut placer = Placer::new(Duration::from_secs(10));
        let start = Instant::now();
        // Ten rooms on a, where other placers' choices stood over ours: a is now the heavier.
        for _ in 0..10 {
            let ours = placer.choose(&nodes, start, |_| 1).unwrap();
            placer.overruled(&ours, NodeId("a".into()));
        }
        assert_eq!(
            placer.choose(&nodes, start, |_| 0),
            Some(NodeId("b".into()))
        );
        // After the window the heartbeats tell the load; what the placer remembered is gone.
        let later = start + Duration::from_secs(10);
        assert_eq!(
            placer.choose(&nodes, later, |_| 0),
            Some(NodeId("a".into()))
        );
    }
}
