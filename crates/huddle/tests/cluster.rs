//! Cluster mode (docs/cluster.md): nodes sharing a Redis see each other through heartbeats that
//! expire by themselves; every room has one home, and a join reaching another node is sent there;
//! a node that cannot reach Redis says it is not ready, stays alive and keeps its rooms, and is
//! ready again once Redis is back.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::database::{postgres_database, Database};
use common::{http_get, metric, Client, Server};
use huddle_cluster::testing::RedisServer;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A node of the cluster on `redis`, sharing `db` with the others; its public URL is its own
/// address. `extra` flags come last.
async fn node(redis: &RedisServer, db: &Database, id: &str, extra: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let url = redis.url();
    let flags = [
        "--listen",
        &listen,
        "--cluster",
        &url,
        "--node-id",
        id,
        "--public-url",
        &public,
    ];
    Server::start_on(db, &[&flags[..], extra].concat()).await
}

/// Nodes named `ids`, each seeing all of them ready.
async fn cluster<const N: usize>(
    redis: &RedisServer,
    db: &Database,
    ids: [&str; N],
    extra: &[&str],
) -> [Server; N] {
    let mut nodes = Vec::with_capacity(N);
    for id in ids {
        nodes.push(node(redis, db, id, extra).await);
    }
    for node in &nodes {
        until(node, "sees them all", |ready, seen| {
            ready == 200 && seen == Some(N as f64)
        })
        .await;
    }
    nodes.try_into().ok().expect("N nodes")
}

/// Joins `room` through the node at `entry` as a browser does: following a redirect to the room's
/// home, asking again through the entry while the room is moving. The client, `joined`, and the
/// address of the node it joined.
async fn join_through(entry: SocketAddr, room: &str, name: &str) -> (Client, Value, SocketAddr) {
    let (mut address, mut home) = (entry, Value::Null);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        // A node named by a redirect may be paused: its handshake never completes.
        let connecting = tokio::time::timeout(Duration::from_secs(2), Client::connect(address));
        let Ok(mut client) = connecting.await else {
            (address, home) = (entry, Value::Null);
            continue;
        };
        client
            .send(json!({"type": "join", "room": room, "name": name, "version": 1, "home": home}))
            .await;
        let answer = client.next().await;
        match answer["type"].as_str() {
            Some("joined") => {
                client.welcome().await;
                return (client, answer, address);
            }
            Some("redirect") => {
                let url = answer["url"].as_str().expect("a redirect names a URL");
                address = url["http://".len()..].parse().expect("a node's address");
                home = answer["node"].clone();
            }
            _ if answer["code"] == "room_moving" => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                (address, home) = (entry, Value::Null);
            }
            _ => panic!("{name} joining {room}: {answer}"),
        }
    }
    panic!("{name} could not join {room} in 30 s");
}

/// Joins `room` on `node`, telling it a redirect named it the room's home; the client, `joined`
/// and the room's board as it was welcomed.
async fn join_at(node: &Server, id: &str, room: &str, name: &str) -> (Client, Value, Value) {
    let mut client = node.client().await;
    client
        .send(json!({"type": "join", "room": room, "name": name, "version": 1, "home": id}))
        .await;
    let joined = client.expect("joined").await;
    let [_, _, board] = client.welcome().await;
    (client, joined, board)
}

/// The sum of a metric over the nodes.
async fn total(nodes: &[Server], name: &str) -> f64 {
    let mut sum = 0.0;
    for node in nodes {
        sum += metric(&node.metrics().await, name).unwrap_or(0.0);
    }
    sum
}

/// Waits until `check` holds for `server`'s (status of `/readyz`, `huddle_cluster_nodes`).
async fn until(server: &Server, what: &str, check: impl Fn(u16, Option<f64>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ready, _) = http_get(server.address, "/readyz").await;
        let nodes = metric(&server.metrics().await, "huddle_cluster_nodes");
        if check(ready, nodes) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /readyz {ready}, nodes {nodes:?} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn nodes_see_each_other_and_one_that_stops_is_gone() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    // A clean stop leaves the directory at once, well before its heartbeat would expire.
    b.stop().await;
    let left = Instant::now();
    until(&a, "a sees b gone", |_, nodes| nodes == Some(1.0)).await;
    assert!(
        left.elapsed() < Duration::from_secs(2),
        "b was still listed {:?} after it stopped",
        left.elapsed()
    );
    a.stop().await;
}

#[tokio::test]
async fn without_redis_a_node_is_alive_keeps_its_rooms_and_is_not_ready_until_redis_is_back() {
    let mut redis = RedisServer::start();
    let db = postgres_database().await;
    let a = node(&redis, &db, "a", &[]).await;
    until(&a, "ready", |ready, _| ready == 200).await;
    let (mut ada, _) = a.joined("r", "ada").await;

    redis.stop();
    until(&a, "not ready without Redis", |ready, _| ready == 503).await;
    assert_eq!(
        http_get(a.address, "/healthz").await.0,
        200,
        "alive all the same"
    );
    let (mut bo, _) = a.joined("r", "bo").await;
    ada.expect("participant_joined").await;
    let failed = metric(&a.metrics().await, "huddle_cluster_heartbeats_failed_total");
    assert!(
        failed.is_some_and(|n| n >= 1.0),
        "failed heartbeats are counted: {failed:?}"
    );

    let _back = RedisServer::on(redis.port());
    until(&a, "ready again", |ready, nodes| {
        ready == 200 && nodes == Some(1.0)
    })
    .await;
    bo.send(serde_json::json!({ "type": "chat_send", "text": "still here" }))
        .await;
    ada.expect("chat_message").await;
    a.stop().await;
}

#[tokio::test]
async fn a_node_without_cluster_mode_is_always_ready() {
    let server = Server::start(&[]).await;
    assert_eq!(
        http_get(server.address, "/readyz").await,
        (200, "ready\n".to_owned())
    );
    assert_eq!(
        metric(&server.metrics().await, "huddle_cluster_nodes"),
        None
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_joins_through_three_nodes_give_each_of_fifty_rooms_one_home() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let crowd = [
        "--media-mode",
        "sfu",
        "--joins-per-minute",
        "100000",
        "--max-connections-per-ip",
        "10000",
        "--max-http-connections-per-ip",
        "10000",
    ];
    let nodes = cluster(&redis, &db, ["a", "b", "c"], &crowd).await;
    let entries: Vec<SocketAddr> = nodes.iter().map(|node| node.address).collect();
    let joins = (0..1000).map(|n| {
        // Each join comes in through any node, as a load balancer would spread them.
        let entry = entries[(n / 50) % 3];
        let room = format!("room-{}", n % 50);
        tokio::spawn(async move {
            let (client, _, home) = join_through(entry, &room, &format!("p{n}")).await;
            (room, home, client)
        })
    });
    let mut homes: HashMap<String, Vec<SocketAddr>> = HashMap::new();
    let mut clients = Vec::new();
    for join in joins.collect::<Vec<_>>() {
        let (room, home, client) = join.await.expect("the join task");
        homes.entry(room).or_default().push(home);
        clients.push(client);
    }
    assert_eq!(homes.len(), 50);
    for (room, members) in &homes {
        assert_eq!(members.len(), 20, "{room}");
        assert!(
            members.iter().all(|home| *home == members[0]),
            "{room} has members on two nodes: {members:?}"
        );
    }
    // Every room's lease was granted once (the epoch Redis issued with each grant is the count of
    // them) and never lost: 50 leases held in all.
    for room in homes.keys() {
        let epoch = redis.cli(&["GET", &format!("huddle:room:{room}:epoch")]);
        assert_eq!(epoch, "1", "{room}'s lease granted more than once");
    }
    assert_eq!(total(&nodes, "huddle_cluster_rooms_homed").await, 50.0);
    assert_eq!(total(&nodes, "huddle_cluster_leases_lost_total").await, 0.0);
    assert!(total(&nodes, "huddle_cluster_redirects_total").await >= 600.0);
    let mut per_node: HashMap<SocketAddr, usize> = HashMap::new();
    for members in homes.values() {
        *per_node.entry(members[0]).or_default() += 1;
    }
    // Rooms spread over every node. How evenly, on a quiet machine, is a benchmark's figure: here
    // the test shares two cores with the other tests, and a late heartbeat skews the view.
    assert!(
        per_node.len() == 3 && per_node.values().all(|rooms| *rooms >= 5),
        "rooms per node: {per_node:?}"
    );
    drop(clients);
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn members_of_a_room_whose_lease_another_node_took_are_sent_there() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    // The lease vanishes (Redis lost it) and b takes the room before a renews.
    assert_eq!(redis.cli(&["DEL", "huddle:room:r:home"]), "1");
    let (mut bo, ..) = join_at(&b, "b", "r", "bo").await;

    let redirect = ada.expect("redirect").await;
    assert_eq!(redirect["url"], format!("http://{}", b.address));
    assert_eq!(redirect["node"], "b");
    assert_eq!(ada.closed().await.0, CloseCode::Normal);
    assert_eq!(
        metric(&a.metrics().await, "huddle_cluster_leases_lost_total"),
        Some(1.0)
    );
    assert_eq!(
        metric(&a.metrics().await, "huddle_cluster_rooms_homed"),
        Some(0.0)
    );
    // Following it, ada is with bo again.
    let (_ada, joined, home) = join_through(a.address, "r", "ada").await;
    assert_eq!(home, b.address);
    assert_eq!(joined["participants"][0]["name"], "bo");
    bo.expect("participant_joined").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_stopped_node_gives_its_rooms_back_and_they_are_placed_again_at_once() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    ada.send(json!({"type": "chat_send", "text": "before the upgrade"}))
        .await;
    ada.expect("chat_message").await;
    a.stop().await;
    assert_eq!(
        redis.cli(&["EXISTS", "huddle:room:r:home"]),
        "0",
        "given back"
    );
    let asked = Instant::now();
    let (_ada, _, home) = join_through(b.address, "r", "ada").await;
    assert_eq!(home, b.address);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "no wait for a lease to expire"
    );
    b.stop().await;
}

#[tokio::test]
async fn a_home_whose_write_is_refused_under_an_old_epoch_steps_down_and_the_room_moves_on() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    let title = |title: &str| json!({"type": "set_title", "title": title});
    ada.send(title("one")).await;
    ada.expect("title_changed").await;
    let written = "SELECT epoch FROM room_epochs WHERE room = 'r'";
    assert_eq!(db.number(written).await, 1, "the first home's epoch");

    // A successor wrote under a higher epoch (as after Redis lost the lease): a's next write is
    // refused, nothing is changed, and a steps down.
    db.execute("UPDATE room_epochs SET epoch = 100 WHERE room = 'r'")
        .await;
    ada.send(title("two")).await;
    ada.expect_error("storage_failed").await;
    ada.expect_error("room_moving").await;
    assert_eq!(ada.closed().await.0, CloseCode::Again);
    let refusals = metric(&a.metrics().await, "huddle_cluster_fencing_refusals_total");
    assert_eq!(refusals, Some(1.0));

    // Once a's lease expires the room is placed again, above the epoch written.
    let (mut ada, joined, _) = join_through(b.address, "r", "ada").await;
    assert_eq!(joined["title"], "one");
    ada.send(title("three")).await;
    assert_eq!(ada.expect("title_changed").await["title"], "three");
    assert_eq!(db.number(written).await, 101);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_room_back_on_a_former_home_is_read_again_not_served_from_its_memory() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let draw = |id: &str| {
        json!({"type": "whiteboard_add", "item": {"id": id, "kind": "pen", "color": "#ff0000",
            "width": 3, "points": [[0.1, 0.2], [0.3, 0.4]]}})
    };
    // The drawer is not told of its own item: it is stored once the database has it.
    let stored = |id: &'static str| {
        let query = format!("SELECT COUNT(*) FROM whiteboard_items WHERE item_id = '{id}'");
        let db = &db;
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            while db.number(&query).await == 0 {
                assert!(Instant::now() < deadline, "{id} not stored in 5 s");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    ada.send(draw("on-a")).await;
    stored("on-a").await;
    // The room moves to b, where bo draws too...
    assert_eq!(redis.cli(&["DEL", "huddle:room:r:home"]), "1");
    let (mut bo, ..) = join_at(&b, "b", "r", "bo").await;
    ada.expect("redirect").await;
    bo.send(draw("on-b")).await;
    stored("on-b").await;
    // ...and back to a, which still has the board in memory from before.
    assert_eq!(redis.cli(&["DEL", "huddle:room:r:home"]), "1");
    let (_ada, _, board) = join_at(&a, "a", "r", "ada").await;
    let ids: Vec<&str> = board["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["on-a", "on-b"]);
    bo.expect("redirect").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_scheduled_message_is_posted_once_by_its_rooms_home_and_reaches_its_members() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let at = i64::try_from(now).expect("in range") + 1_500;
    ada.send(json!({"type": "schedule_message", "text": "stand-up", "at": at}))
        .await;
    ada.expect("scheduled_added").await;
    // Both nodes' schedulers see it due; b leaves it to the room's home.
    let posted = ada.expect("chat_message").await;
    assert_eq!(posted["message"]["text"], "stand-up");
    assert_eq!(posted["message"]["kind"], "scheduled");
    ada.expect("scheduled_removed").await;
    let again = ada.try_next(Duration::from_secs(2)).await;
    assert!(again.is_none(), "posted twice: {again:?}");
    let stored = "SELECT COUNT(*) FROM chat_messages WHERE kind = 'scheduled'";
    assert_eq!(db.number(stored).await, 1);
    a.stop().await;
    b.stop().await;
}

/// Joins on `node` with the pass a `migrate` gave, as the browser does; the client and `joined`.
async fn move_with(node: &Server, migrate: &Value, room: &str, name: &str) -> (Client, Value) {
    let mut client = node.client().await;
    let join = json!({"type": "join", "room": room, "name": name, "version": 1,
        "home": migrate["node"], "pass": migrate["pass"]});
    client.send(join).await;
    let joined = client.expect("joined").await;
    client.welcome().await;
    (client, joined)
}

#[tokio::test]
async fn a_draining_node_moves_its_rooms_and_their_members_keep_their_ids_roles_and_hands() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ada_joined, _) = join_at(&a, "a", "r", "ada").await;
    let (mut bob, bob_joined, _) = join_at(&a, "a", "r", "bob").await;
    let (ada_id, bob_id) = (&ada_joined["you"], &bob_joined["you"]);
    ada.send(json!({"type": "set_title", "title": "weekly"}))
        .await;
    ada.expect("title_changed").await;
    // The room asks for a password now and is locked: the entrance let them in once, a pass
    // lets them in again.
    let password =
        json!({"type": "moderate", "action": {"kind": "set_password", "password": "s3cret"}});
    ada.send(password).await;
    ada.expect("access_changed").await;
    let lock = json!({"type": "moderate", "action": {"kind": "lock", "locked": true}});
    ada.send(lock).await;
    ada.expect("access_changed").await;
    bob.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    bob.expect("hands").await;

    let drained = a.drain(Duration::from_secs(30));
    let (ada_move, bob_move) = (ada.expect("migrate").await, bob.expect("migrate").await);
    assert_eq!(ada_move["url"], format!("http://{}", b.address));
    assert_eq!(ada_move["node"], "b");
    assert_ne!(ada_move["pass"], bob_move["pass"], "a pass each");
    assert_eq!(redis.cli(&["GET", "huddle:room:r:home"]), "", "handed over");

    let (mut ada_b, joined) = move_with(&b, &ada_move, "r", "ada").await;
    assert_eq!(&joined["you"], ada_id, "the same id on the new home");
    assert_eq!(joined["role"], "host", "a host stays host");
    assert_eq!(joined["title"], "weekly");
    assert_eq!(joined["access"]["locked"], true, "the lock comes along");
    let (_bob_b, joined) = move_with(&b, &bob_move, "r", "bob").await;
    assert_eq!(&joined["you"], bob_id);
    assert_eq!(
        joined["role"], "participant",
        "the first in on b took no role"
    );
    assert_eq!(
        joined["hands"],
        json!([bob_id]),
        "a raised hand comes along"
    );
    assert_eq!(joined["participants"][0]["id"], *ada_id);
    assert_eq!(
        ada_b.expect("participant_joined").await["participant"]["id"],
        *bob_id
    );

    // The old sessions go once the new ones carry the call; then the node has drained.
    ada.send(json!({"type": "leave"})).await;
    bob.send(json!({"type": "leave"})).await;
    let left = tokio::time::timeout(Duration::from_secs(5), drained).await;
    assert_eq!(left.expect("drained in time").unwrap(), 0);
    let planned = metric(
        &a.metrics().await,
        "huddle_cluster_migrations_planned_total",
    );
    assert_eq!(planned, Some(2.0));

    // A pass is good once: used again, the join is an ordinary one, and the room is locked.
    let mut again = b.client().await;
    let join = json!({"type": "join", "room": "r", "name": "ada", "version": 1,
        "home": "b", "pass": ada_move["pass"]});
    again.send(join).await;
    again.expect_error("room_locked").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn members_who_do_not_move_are_cut_off_at_the_drains_deadline() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a, b] = cluster(&redis, &db, ["a", "b"], &[]).await;
    let (mut ada, ..) = join_at(&a, "a", "r", "ada").await;
    let drained = a.drain(Duration::from_millis(500));
    ada.expect("migrate").await;
    assert_eq!(drained.await.unwrap(), 1, "ada stayed");
    let forced = metric(&a.metrics().await, "huddle_cluster_migrations_forced_total");
    assert_eq!(forced, Some(1.0));
    a.stop().await;
    assert_eq!(ada.closed().await.0, CloseCode::Away);
    // Back through any node, ada lands on the room's new home.
    let (_ada, _, home) = join_through(b.address, "r", "ada").await;
    assert_eq!(home, b.address);
    b.stop().await;
}

#[tokio::test]
async fn a_node_with_nowhere_to_move_its_rooms_stops_without_waiting_out_the_drain() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let [mut a] = cluster(&redis, &db, ["a"], &[]).await;
    let (_ada, ..) = join_at(&a, "a", "r", "ada").await;
    let drained = tokio::time::timeout(Duration::from_secs(2), a.drain(Duration::from_secs(600)));
    assert_eq!(
        drained.await.expect("at once").unwrap(),
        1,
        "ada is cut off"
    );
    a.stop().await;
}

/// A node in a process of its own, which a test can pause (`SIGSTOP`) as a stalled machine would
/// be; killed when dropped.
struct NodeProcess {
    child: std::process::Child,
    address: SocketAddr,
    _data: common::database::TempDir,
}

impl NodeProcess {
    async fn start(redis: &RedisServer, db: &Database, id: &str) -> Self {
        let address: SocketAddr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let data = common::database::TempDir::new("node");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
            .args(["--listen", &address.to_string(), "--public-url"])
            .arg(format!("http://{address}"))
            .args(["--cluster", &redis.url(), "--node-id", id])
            .args([
                "--turn-listen",
                "127.0.0.1:0",
                "--sfu-listen",
                "127.0.0.1:0",
            ])
            .args(["--token-secret", common::TOKEN_SECRET, "--data-dir"])
            .arg(data.path())
            .args(db.flags())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting huddle");
        let node = NodeProcess {
            child,
            address,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            assert!(Instant::now() < deadline, "node {id} not listening in 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while http_get(address, "/readyz").await.0 != 200 {
            assert!(Instant::now() < deadline, "node {id} not ready in 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        node
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) on our own child, with a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_home_paused_past_its_lease_writes_nothing_when_it_wakes_and_steps_down() {
    let redis = RedisServer::start();
    let db = postgres_database().await;
    let a = NodeProcess::start(&redis, &db, "a").await;
    let b = node(&redis, &db, "b", &[]).await;
    let mut ada = Client::connect(a.address).await;
    ada.send(json!({"type": "join", "room": "r", "name": "ada", "version": 1, "home": "a"}))
        .await;
    ada.expect("joined").await;
    ada.welcome().await;
    let title = |title: &str| json!({"type": "set_title", "title": title});
    ada.send(title("a's")).await;
    ada.expect("title_changed").await;

    // a stalls (a long GC pause, a frozen VM): its lease expires and the room finds a new home.
    a.signal(libc::SIGSTOP);
    let (mut bo, _, home) = join_through(b.address, "r", "bo").await;
    assert_eq!(home, b.address);
    bo.send(title("b's")).await;
    assert_eq!(bo.expect("title_changed").await["title"], "b's");

    // a wakes up still believing for a moment that it is the home: what ada asks of it now is
    // refused, and a sends her to the room's new home.
    a.signal(libc::SIGCONT);
    ada.send(title("stale")).await;
    let sent_on = loop {
        let message = ada.next().await;
        match message["type"].as_str() {
            Some("redirect") => break message,
            Some("error") if message["code"] == "storage_failed" => {}
            Some("error") if message["code"] == "room_moving" => break message,
            _ => panic!("after waking: {message}"),
        }
    };
    if sent_on["type"] == "redirect" {
        assert_eq!(sent_on["node"], "b");
    }
    assert_eq!(
        db.number("SELECT COUNT(*) FROM rooms WHERE name = 'r' AND title = 'b''s'")
            .await,
        1,
        "the title is the new home's"
    );
    let (_, metrics) = http_get(a.address, "/metrics").await;
    assert_eq!(metric(&metrics, "huddle_cluster_rooms_homed"), Some(0.0));
    b.stop().await;
}
