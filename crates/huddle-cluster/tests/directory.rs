//! The cluster directory against a real Redis (`testing::RedisServer`: Debian's `redis-server`
//! on a free loopback port, no persistence): leases, epochs, heartbeats, Redis going away and back.

use std::time::{Duration, Instant};

use huddle_cluster::testing::RedisServer;
use huddle_cluster::{
    Acquired, Answer, Directory, Epoch, Lease, LeaseAction, LeaseTimes, Node, NodeId, NodeLoad,
    NodeState, Token,
};

const TIMEOUT: Duration = Duration::from_millis(500);

async fn connect(redis: &RedisServer) -> Directory {
    Directory::connect(&redis.url(), "test:", TIMEOUT)
        .await
        .expect("connects")
}

fn token(node: &str, nonce: u64) -> Token {
    Token {
        node: NodeId(node.into()),
        nonce,
    }
}

fn acquire(node: &str, nonce: u64, ttl: Duration) -> LeaseAction {
    LeaseAction::Acquire {
        token: token(node, nonce),
        ttl,
    }
}

fn renew(node: &str, nonce: u64, ttl: Duration) -> LeaseAction {
    LeaseAction::Renew {
        token: token(node, nonce),
        ttl,
    }
}

/// Runs the lease's pending actions through the directory until none is left.
async fn drive(lease: &mut Lease, directory: &Directory, room: &str) {
    while let Some(action) = lease.poll_action() {
        match directory.lease(room, &action, Epoch(0)).await {
            Ok(answer) => lease.answered(answer, Instant::now()),
            Err(_) => lease.failed(Instant::now()),
        }
    }
}

#[tokio::test]
async fn one_home_per_room_and_each_new_home_under_a_higher_epoch() {
    let redis = RedisServer::start();
    let (a, b) = (connect(&redis).await, connect(&redis).await);
    let times = LeaseTimes::new(Duration::from_secs(10));
    let now = Instant::now();

    assert_eq!(a.home("r").await.unwrap(), None, "nobody's yet");
    let mut first = Lease::acquire(token("a", 1), times, now);
    drive(&mut first, &a, "r").await;
    assert_eq!(first.home_epoch(Instant::now()), Some(Epoch(1)));
    assert_eq!(b.home("r").await.unwrap(), Some(token("a", 1)));
    let mut second = Lease::acquire(token("b", 1), times, now);
    drive(&mut second, &b, "r").await;
    assert_eq!(
        second.home_epoch(Instant::now()),
        None,
        "the room has its home"
    );

    // Another room is another lease.
    let mut elsewhere = Lease::acquire(token("b", 2), times, now);
    drive(&mut elsewhere, &b, "other").await;
    assert_eq!(elsewhere.home_epoch(Instant::now()), Some(Epoch(1)));

    // Only the holder renews; releasing lets the next one in, under a higher epoch.
    let by_b = b.lease("r", &renew("b", 1, times.ttl), Epoch(0)).await;
    assert_eq!(by_b.unwrap(), Answer::Renewed(false));
    let by_a = a.lease("r", &renew("a", 1, times.ttl), Epoch(0)).await;
    assert_eq!(by_a.unwrap(), Answer::Renewed(true));
    first.release();
    drive(&mut first, &a, "r").await;
    let mut third = Lease::acquire(token("b", 3), times, Instant::now());
    drive(&mut third, &b, "r").await;
    assert_eq!(third.home_epoch(Instant::now()), Some(Epoch(2)));
    // Asking again with the same token keeps it.
    let again = b.lease("r", &acquire("b", 3, times.ttl), Epoch(0)).await;
    assert_eq!(again.unwrap(), Answer::Acquired(Acquired::StillOurs));
}

#[tokio::test]
async fn a_lease_not_renewed_expires_by_itself() {
    let redis = RedisServer::start();
    let directory = connect(&redis).await;
    let short = acquire("a", 1, Duration::from_millis(200));
    let won = directory.lease("r", &short, Epoch(0)).await;
    assert_eq!(won.unwrap(), Answer::Acquired(Acquired::Won(Epoch(1))));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = acquire("b", 1, Duration::from_secs(10));
    let won = directory.lease("r", &next, Epoch(0)).await;
    assert_eq!(won.unwrap(), Answer::Acquired(Acquired::Won(Epoch(2))));
}

#[tokio::test]
async fn epochs_stay_above_what_was_written_when_redis_lost_its_data() {
    let mut redis = RedisServer::start();
    let directory = connect(&redis).await;
    let ttl = Duration::from_secs(10);
    directory
        .lease("r", &acquire("a", 1, ttl), Epoch(0))
        .await
        .unwrap();
    // Redis restarts empty (no persistence): its counter is gone, PostgreSQL saw epoch 5 written.
    redis.stop();
    let redis = RedisServer::on(redis.port());
    let directory = connect(&redis).await;
    let won = directory.lease("r", &acquire("b", 1, ttl), Epoch(5)).await;
    assert_eq!(won.unwrap(), Answer::Acquired(Acquired::Won(Epoch(6))));
}

#[tokio::test]
async fn nodes_are_listed_while_their_heartbeats_last() {
    let redis = RedisServer::start();
    let directory = connect(&redis).await;
    let node = |id: &str, state, participants| Node {
        id: NodeId(id.into()),
        public_url: format!("https://{id}.meet.example"),
        state,
        load: NodeLoad {
            participants,
            busy: 0.25,
            lag_ms: 7,
            bitrate: 3_000_000,
        },
    };
    let a = node("a", NodeState::Serving, 12);
    let b = node("b", NodeState::Draining, 3);
    directory
        .heartbeat(&a, Duration::from_millis(200))
        .await
        .unwrap();
    directory
        .heartbeat(&b, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(directory.nodes().await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(directory.node(&a.id).await.unwrap(), Some(a.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        directory.nodes().await.unwrap(),
        vec![b.clone()],
        "a's heartbeat expired"
    );
    assert_eq!(directory.node(&a.id).await.unwrap(), None);
    directory.forget(&b.id).await.unwrap();
    assert_eq!(directory.nodes().await.unwrap(), vec![], "b left");
}

#[tokio::test]
async fn requests_fail_fast_while_redis_is_away_and_work_once_it_is_back() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    let directory = connect(&redis).await;
    let acquire = acquire("a", 1, Duration::from_secs(10));
    redis.stop();
    let asked = Instant::now();
    assert!(directory.lease("r", &acquire, Epoch(0)).await.is_err());
    assert!(
        asked.elapsed() < TIMEOUT * 4,
        "failed in {:?}",
        asked.elapsed()
    );

    let _back = RedisServer::on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match directory.lease("r", &acquire, Epoch(0)).await {
            Ok(answer) => {
                assert_eq!(answer, Answer::Acquired(Acquired::Won(Epoch(1))));
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "not reconnected in 10 s: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_first_placement_of_a_room_stands_for_every_placer_until_it_expires() {
    let redis = RedisServer::start();
    let (a, b) = (connect(&redis).await, connect(&redis).await);
    let window = Duration::from_millis(200);
    let (x, y) = (NodeId("x".into()), NodeId("y".into()));
    assert_eq!(a.place("r", &x, window).await.unwrap(), x);
    assert_eq!(b.place("r", &y, window).await.unwrap(), x, "x was first");
    assert_eq!(b.place("other", &y, window).await.unwrap(), y);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.place("r", &y, window).await.unwrap(), y, "x's expired");
}

#[tokio::test]
async fn a_home_hands_its_room_over_only_while_it_holds_the_lease() {
    let redis = RedisServer::start();
    let directory = connect(&redis).await;
    let (to, window) = (NodeId("b".into()), Duration::from_secs(5));
    let mut lease = Lease::acquire(
        token("a", 1),
        LeaseTimes::new(Duration::from_secs(10)),
        Instant::now(),
    );
    drive(&mut lease, &directory, "r").await;
    assert!(lease.home_epoch(Instant::now()).is_some());

    lease.hand_over(to.clone(), window);
    drive(&mut lease, &directory, "r").await;
    assert_eq!(
        directory.home("r").await.unwrap(),
        None,
        "the lease is given back"
    );
    let elsewhere = NodeId("c".into());
    assert_eq!(
        directory.place("r", &elsewhere, window).await.unwrap(),
        to,
        "every placer sends the room to the node it was handed to"
    );

    // A former home whose lease was taken since hands nothing over.
    let mut taken = Lease::acquire(
        token("c", 2),
        LeaseTimes::new(Duration::from_secs(10)),
        Instant::now(),
    );
    drive(&mut taken, &directory, "s").await;
    let stale = LeaseAction::HandOver {
        token: token("a", 3),
        to: to.clone(),
        placed_for: window,
    };
    directory.lease("s", &stale, Epoch(0)).await.unwrap();
    assert_eq!(directory.home("s").await.unwrap(), Some(token("c", 2)));
    assert_eq!(
        directory.place("s", &elsewhere, window).await.unwrap(),
        elsewhere
    );
}

#[tokio::test]
async fn a_pass_is_taken_once_and_not_after_it_expired() {
    let redis = RedisServer::start();
    let directory = connect(&redis).await;
    let ttl = Duration::from_millis(200);
    directory.leave_pass("p1", "ada", ttl).await.unwrap();
    directory.leave_pass("p2", "bob", ttl).await.unwrap();
    assert_eq!(
        directory.take_pass("p1").await.unwrap().as_deref(),
        Some("ada")
    );
    assert_eq!(
        directory.take_pass("p1").await.unwrap(),
        None,
        "used already"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(directory.take_pass("p2").await.unwrap(), None, "expired");
}
