//! Sessions driven through channels instead of sockets, against SFUs that fail on purpose: what
//! a participant and the room end up agreeing on when the SFU lets them down.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Peer, RateSettings, Signaling, SignalingSettings};
use crate::access::{
    Access, ConnectionCounter, Entrances, IpBuckets, JoinTokens, MemorySettingsStore,
};
use crate::clock::SystemClock;
use crate::collab::Collab;
use crate::ice::IceServers;
use crate::metrics::Metrics;
use crate::rooms::{AutoSwitch, LocalRegistry, MediaPolicy, RoomName, RoomPolicy};
use crate::sfu::SfuBridge;
use crate::store::{Location, Store};

const WAIT: Duration = Duration::from_secs(5);

/// The server's end of a connection: what the client sends comes in, what the session sends
/// goes out.
struct Socket {
    incoming: mpsc::UnboundedReceiver<Message>,
    outgoing: mpsc::UnboundedSender<Message>,
}

impl Stream for Socket {
    type Item = Result<Message, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx).map(|message| message.map(Ok))
    }
}

impl Sink<Message> for Socket {
    type Error = ();

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), ()> {
        self.outgoing.send(message).map_err(|_| ())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }
}

/// The client's end.
struct Client {
    to_server: mpsc::UnboundedSender<Message>,
    from_server: mpsc::UnboundedReceiver<Message>,
}

impl Client {
    fn connect(signaling: &Arc<Signaling>) -> Self {
        let (to_server, incoming) = mpsc::unbounded_channel();
        let (outgoing, from_server) = mpsc::unbounded_channel();
        let signaling = signaling.clone();
        tokio::spawn(async move {
            let peer = Peer {
                host: "localhost".into(),
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            };
            signaling
                .run_session(Socket { incoming, outgoing }, &peer)
                .await;
        });
        Self {
            to_server,
            from_server,
        }
    }

    fn join(&self, room: &str, name: &str) {
        let join = json!({"type": "join", "room": room, "name": name, "version": 1});
        self.to_server
            .send(Message::Text(join.to_string().into()))
            .expect("the session is running");
    }

    /// The next frame that is not a ping.
    async fn frame(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(WAIT, self.from_server.recv())
                .await
                .expect("a frame in time")
                .expect("the session is running");
            if !matches!(frame, Message::Ping(_)) {
                return frame;
            }
        }
    }

    /// The next protocol message.
    async fn next(&mut self) -> Value {
        loop {
            if let Message::Text(text) = self.frame().await {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// Skips messages until one of type `kind`.
    async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] == kind {
                return message;
            }
        }
    }

    /// The close code the session ends with.
    async fn closed(&mut self) -> u16 {
        loop {
            if let Message::Close(Some(frame)) = self.frame().await {
                return frame.code;
            }
        }
    }
}

/// A whole signaling layer in memory, on a fresh SQLite database, with `sfu` as its SFU.
async fn signaling(media: MediaPolicy, sfu: SfuBridge) -> (Arc<Signaling>, TempDir) {
    let data = TempDir::new();
    let store = Store::open(&Location::DataDir(data.0.clone()))
        .await
        .unwrap();
    let policy = RoomPolicy {
        media,
        mesh_limit: 4,
        max_participants: 10,
        auto_host: true,
    };
    let registry = Arc::new(LocalRegistry::new(policy));
    let metrics = Arc::new(Metrics::default());
    let collab = Collab::new(
        store,
        registry,
        Arc::new(SystemClock),
        metrics.clone(),
        None,
    );
    let access = Access {
        tokens: JoinTokens::new(b"secret"),
        require_token: false,
        entrances: Entrances::new(Arc::new(MemorySettingsStore::default()), 100),
        joins: IpBuckets::new(1000),
        connections: ConnectionCounter::new(1000),
        kind_rates: Vec::new(),
        allowed_origins: Vec::new(),
        api_key: None,
    };
    let settings = SignalingSettings {
        ice: IceServers::default(),
        keepalive_interval: Duration::from_secs(1),
        keepalive_timeout: Duration::from_secs(5),
        rate: RateSettings {
            per_second: 100.0,
            burst: 100.0,
            bytes_per_second: 1e6,
        },
    };
    let signaling = Signaling {
        collab,
        access,
        metrics,
        settings,
        sfu: Some(sfu),
        shutdown: CancellationToken::new(),
    };
    (Arc::new(signaling), data)
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let name = format!("huddle-signaling-{:016x}", rand::random::<u64>());
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn members(signaling: &Signaling, room: &str) -> usize {
    let room = RoomName::parse(room).unwrap();
    signaling.registry().members(&room).await.len()
}

#[tokio::test]
async fn a_participant_who_cannot_follow_the_room_to_the_sfu_leaves_it_and_is_told() {
    let auto = MediaPolicy::Auto(AutoSwitch {
        threshold: 3,
        hold: Duration::from_secs(60),
    });
    let (signaling, _data) = signaling(auto, SfuBridge::stopped()).await;
    let mut ada = Client::connect(&signaling);
    ada.join("r", "Ada");
    ada.expect("joined").await;
    let bob = Client::connect(&signaling);
    bob.join("r", "Bob");
    ada.expect("participant_joined").await;

    // The third moves the room to the SFU, which has stopped.
    let mut cleo = Client::connect(&signaling);
    cleo.join("r", "Cleo");
    assert_eq!(cleo.expect("error").await["code"], "sfu_unavailable");
    assert_eq!(ada.expect("error").await["code"], "sfu_unavailable");
    assert_eq!(ada.closed().await, super::close_code::TRY_AGAIN_LATER);
    // Nobody stays in a room whose media they cannot reach.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(members(&signaling, "r").await, 0);
    drop(bob);
}

#[tokio::test]
async fn a_join_the_sfu_half_takes_is_no_join_at_all() {
    let (signaling, _data) =
        signaling(MediaPolicy::Sfu, SfuBridge::stopping_after_one_join()).await;
    let mut ada = Client::connect(&signaling);
    ada.join("r", "Ada");
    let answer = ada.next().await;
    assert_eq!(answer["code"], "sfu_unavailable", "not joined: {answer}");
    assert_eq!(members(&signaling, "r").await, 0);
}

#[tokio::test]
async fn a_newcomer_to_a_room_whose_sfu_worker_sheds_load_is_refused_and_told_why() {
    let (signaling, _data) = signaling(MediaPolicy::Sfu, SfuBridge::overloaded()).await;
    let mut ada = Client::connect(&signaling);
    ada.join("r", "Ada");
    let answer = ada.next().await;
    assert_eq!(answer["code"], "room_overloaded", "not joined: {answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("at capacity"),
        "{answer}"
    );
    assert_eq!(members(&signaling, "r").await, 0);
}
