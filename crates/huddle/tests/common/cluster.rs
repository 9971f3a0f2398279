//! A cluster of huddle nodes for the cluster tests: nodes sharing one Redis and one database,
//! joins made as a browser makes them (following redirects), nodes in processes of their own.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use huddle_cluster::testing::RedisServer;
use serde_json::{json, Value};

use super::database::Database;
use super::{http_get, metric, Client, Server};

/// A node of the cluster on `redis`, sharing `db` with the others; its public URL is its own
/// address. `extra` flags come last.
pub async fn node(redis: &RedisServer, db: &Database, id: &str, extra: &[&str]) -> Server {
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
pub async fn cluster<const N: usize>(
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
pub async fn join_through(
    entry: SocketAddr,
    room: &str,
    name: &str,
) -> (Client, Value, SocketAddr) {
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
pub async fn join_at(node: &Server, id: &str, room: &str, name: &str) -> (Client, Value, Value) {
    let mut client = node.client().await;
    client
        .send(json!({"type": "join", "room": room, "name": name, "version": 1, "home": id}))
        .await;
    let joined = client.expect("joined").await;
    let [_, _, board] = client.welcome().await;
    (client, joined, board)
}

/// The sum of a metric over the nodes.
pub async fn total(nodes: &[Server], name: &str) -> f64 {
    let mut sum = 0.0;
    for node in nodes {
        sum += metric(&node.metrics().await, name).unwrap_or(0.0);
    }
    sum
}

/// Waits until `check` holds for `server`'s (status of `/readyz`, `huddle_cluster_nodes`).
pub async fn until(server: &Server, what: &str, check: impl Fn(u16, Option<f64>) -> bool) {
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

/// A node in a process of its own, which a test can pause (`SIGSTOP`) as a stalled machine would
/// be; killed when dropped.
pub struct NodeProcess {
    child: std::process::Child,
    pub address: SocketAddr,
    _data: super::database::TempDir,
}

impl NodeProcess {
    pub async fn start(redis: &RedisServer, db: &Database, id: &str) -> Self {
        let address: SocketAddr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let data = super::database::TempDir::new("node");
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
            .args(["--token-secret", super::TOKEN_SECRET, "--data-dir"])
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

    pub fn signal(&self, signal: libc::c_int) {
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
